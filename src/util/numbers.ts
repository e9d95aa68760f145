/*
 * Number parsing and formatting, ported from Redis 7.0.15 (util.c, object.c, networking.c)
 * so that every reply and every stored value matches Redis byte for byte.
 *
 * Integers (string2ll): "-"? then "0" or [1-9][0-9]*, nothing else (no spaces, no "+", no
 * leading zeros, no "-0"), inside signed 64-bit. The `Int64` type keeps the hot path (INCR on
 * small numbers) in plain JS numbers: a `number` is always a safe integer and a `bigint` is
 * always outside ±(2^53-1), so there is exactly one representation of each value.
 *
 * Floats: Redis has two parsers with the same grammar (C strtod/strtold in the C locale:
 * decimal, hex "0x1.8p3", "inf"/"infinity", any case, optional sign), both rejecting an empty
 * string, a leading space, trailing bytes (an embedded NUL included), NaN, overflow to
 * infinity and underflow to zero, and both accepting a literal "inf":
 *   - string2d  (double)      used by ZADD and friends          -> `parseDouble`
 *   - string2ld (long double) used by INCRBYFLOAT/HINCRBYFLOAT  -> `parseLongDouble`
 * On x86-64 a C `long double` is the x87 80-bit format: 64-bit significand, 15-bit exponent.
 * JS has no such type, and doing INCRBYFLOAT in doubles gives visibly different answers
 * ("0.1 + 0.2" is "0.3" in Redis, 0.30000000000000004 in doubles; "1.5e308" is stored as a
 * 309-digit integer whose low digits depend on the 64-bit significand). So `LongDouble` is an
 * exact software model of that format: values are `mant * 2^exp` with bigint significands,
 * every operation rounds to nearest-even at 64 bits with x87 subnormals, and
 * `formatLongDouble` reproduces glibc's exact `%.17Lf` (round-half-even on the exact binary
 * value) followed by Redis's LD_STR_HUMAN trimming. The model assumes x86-64 (the platform
 * of the reference redis-server); aarch64 uses a 113-bit quad long double instead.
 *
 * Replies of doubles (addReplyDouble) use `%.17g`, reproduced exactly by `formatDouble`
 * (JS's toExponential rounds ties away from zero; glibc rounds them to even, fixed up here).
 */

/* ------------------------------------------------------------------------------------------ */
/* Integers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;

/** A signed 64-bit integer: a safe-integer `number`, or a `bigint` outside the safe range. */
export type Int64 = number | bigint;

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE_BIG = -MAX_SAFE_BIG;

const CH_PLUS = 0x2b;
const CH_MINUS = 0x2d;
const CH_DOT = 0x2e;
const CH_0 = 0x30;
const CH_1 = 0x31;
const CH_9 = 0x39;

/**
 * Fast path of `string2ll`: the value as a JS number when `buf` is a valid Redis integer whose
 * magnitude is at most 2^53-1; null otherwise (invalid, or valid but large: callers then fall
 * back to `parseLongLong`, or simply use `parseInt64`).
 */
export function parseSafeInt(buf: Uint8Array): number | null {
  const len = buf.length;
  // 16 digits plus a sign is the longest string that can hold a safe integer.
  if (len === 0 || len > 17) return null;
  let i = 0;
  let c = buf[0];
  const negative = c === CH_MINUS;
  if (negative) {
    if (len === 1) return null;
    i = 1;
    c = buf[1];
  }
  if (c < CH_1 || c > CH_9) return len === 1 && c === CH_0 ? 0 : null;
  let v = c - CH_0;
  for (i++; i < len; i++) {
    c = buf[i];
    if (c < CH_0 || c > CH_9) return null;
    v = v * 10 + (c - CH_0);
  }
  // Above 2^53 the running value may round, but rounding is monotonic, so anything that
  // truly exceeds the safe range still compares greater here.
  if (v > Number.MAX_SAFE_INTEGER) return null;
  return negative ? -v : v;
}

/** Redis `string2ll`: the value when `buf` is a canonical signed 64-bit integer, else null. */
export function parseLongLong(buf: Uint8Array): bigint | null {
  const len = buf.length;
  // LONG_STR_SIZE is 21: longer strings are rejected outright (they would overflow anyway).
  if (len === 0 || len >= 21) return null;
  if (len === 1 && buf[0] === CH_0) return 0n;
  let i = 0;
  const negative = buf[0] === CH_MINUS;
  if (negative) {
    if (len === 1) return null;
    i = 1;
  }
  if (buf[i] < CH_1 || buf[i] > CH_9) return null;
  for (let j = i + 1; j < len; j++) {
    if (buf[j] < CH_0 || buf[j] > CH_9) return null;
  }
  let v: bigint;
  if (len - i <= 15) {
    v = BigInt(digitsValue(buf, i, len));
  } else {
    const split = len - 9;
    v = BigInt(digitsValue(buf, i, split)) * 1_000_000_000n + BigInt(digitsValue(buf, split, len));
  }
  if (negative) v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return null;
  return v;
}

/** `string2ll` returning the canonical `Int64` (number when safe). */
export function parseInt64(buf: Uint8Array): Int64 | null {
  const fast = parseSafeInt(buf);
  if (fast !== null) return fast;
  const slow = parseLongLong(buf);
  return slow === null ? null : canonicalInt64(slow);
}

/**
 * `a + b`, or null when the exact sum leaves the signed 64-bit range: the check of Redis
 * incrDecrCommand ("increment or decrement would overflow").
 */
export function addInt64(a: Int64, b: Int64): Int64 | null {
  if (typeof a === 'number' && typeof b === 'number') {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  const sum = BigInt(a) + BigInt(b);
  if (sum > INT64_MAX || sum < INT64_MIN) return null;
  return canonicalInt64(sum);
}

/**
 * `-x`, or null for INT64_MIN, which DECRBY refuses up front with "decrement would overflow"
 * before adding the negated value.
 */
export function negateInt64(x: Int64): Int64 | null {
  if (typeof x === 'number') return x === 0 ? 0 : -x;
  if (x === INT64_MIN) return null;
  return canonicalInt64(-x);
}

/** Decimal text of an integer, as Redis ll2string writes it. */
export function formatInt64(x: Int64): string {
  return typeof x === 'number' ? String(x) : x.toString();
}

/** Bring a bigint into the canonical `Int64` form (number when safe). */
export function canonicalInt64(x: bigint): Int64 {
  return x >= MIN_SAFE_BIG && x <= MAX_SAFE_BIG ? Number(x) : x;
}

function digitsValue(buf: Uint8Array, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) v = v * 10 + (buf[i] - CH_0);
  return v;
}

/* ------------------------------------------------------------------------------------------ */
/* Binary floating point, exactly                                                              */
/* ------------------------------------------------------------------------------------------ */

/**
 * A binary floating-point format: `precision` significand bits, `expMin` the exponent of the
 * least significant bit of a subnormal, `expMax` the largest exponent of that bit for a
 * finite value (larger results overflow to infinity).
 */
interface BinaryFormat {
  readonly precision: number;
  readonly expMin: number;
  readonly expMax: number;
}

/** x87 80-bit extended: 64-bit significand, normals from 2^-16382, largest < 2^16384. */
const X87: BinaryFormat = { precision: 64, expMin: -16382 - 63, expMax: 16384 - 64 };
/** IEEE binary64. */
const F64: BinaryFormat = { precision: 53, expMin: -1074, expMax: 1024 - 53 };

/**
 * A C `long double` value on x86-64, exactly: finite values are `(-1)^neg * mant * 2^exp`
 * (zero is `mant === 0n`, with its sign kept in `neg`).
 */
export type LongDouble =
  | { readonly kind: 'finite'; readonly neg: boolean; readonly mant: bigint; readonly exp: number }
  | { readonly kind: 'inf'; readonly neg: boolean }
  | { readonly kind: 'nan' };

const LD_NAN: LongDouble = { kind: 'nan' };

function ldZero(neg: boolean): LongDouble {
  return { kind: 'finite', neg, mant: 0n, exp: 0 };
}

function ldInf(neg: boolean): LongDouble {
  return { kind: 'inf', neg };
}

function bitLength(x: bigint): number {
  // x > 0. Hex digits keep this cheap for the 64-bit values of the hot path.
  const hex = x.toString(16);
  return hex.length * 4 - Math.clz32(parseInt(hex[0], 16)) + 28;
}

/**
 * Round the exact positive value `num / den * 2^shift` to `fmt`, nearest-even, with
 * subnormals; returns an infinity on overflow and a zero on total underflow.
 */
function roundExact(neg: boolean, num: bigint, den: bigint, shift: number, fmt: BinaryFormat): LongDouble {
  // floor(log2(value)) is k or k - 1.
  const t = bitLength(num) - bitLength(den);
  let k = t + shift;
  if (t >= 0 ? num < den << BigInt(t) : num << BigInt(-t) < den) k--;
  let exp = Math.max(k - (fmt.precision - 1), fmt.expMin);
  if (exp > fmt.expMax) return ldInf(neg);
  const s = shift - exp;
  let mant: bigint;
  let roundUp: boolean;
  if (den === 1n && s <= 0) {
    if (s === 0) {
      mant = num;
      roundUp = false;
    } else {
      const bits = BigInt(-s);
      mant = num >> bits;
      const rem = num - (mant << bits);
      const half = 1n << (bits - 1n);
      roundUp = rem > half || (rem === half && (mant & 1n) === 1n);
    }
  } else {
    const n2 = s >= 0 ? num << BigInt(s) : num;
    const d2 = s >= 0 ? den : den << BigInt(-s);
    mant = n2 / d2;
    const rem2 = (n2 - mant * d2) * 2n;
    roundUp = rem2 > d2 || (rem2 === d2 && (mant & 1n) === 1n);
  }
  if (roundUp) {
    mant += 1n;
    if (mant === 1n << BigInt(fmt.precision)) {
      mant >>= 1n;
      exp += 1;
      if (exp > fmt.expMax) return ldInf(neg);
    }
  }
  return { kind: 'finite', neg, mant, exp };
}

const POW10_SMALL: bigint[] = [];
for (let i = 0, p = 1n; i <= 40; i++, p *= 10n) POW10_SMALL.push(p);

function pow10(n: number): bigint {
  return n < POW10_SMALL.length ? POW10_SMALL[n] : 10n ** BigInt(n);
}

/* ------------------------------------------------------------------------------------------ */
/* strtod / strtold grammar                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** A float literal that the whole buffer spells, before rounding to a format. */
type ScannedFloat =
  | { readonly kind: 'inf'; readonly neg: boolean }
  /** int(digits) * 10^exp10; digits has no leading or trailing zeros; '' means zero. */
  | { readonly kind: 'dec'; readonly neg: boolean; readonly digits: string; readonly exp10: number }
  /** mant * 2^exp2 */
  | { readonly kind: 'hex'; readonly neg: boolean; readonly mant: bigint; readonly exp2: number };

/** Cap on |exponent| while reading it: far past every overflow and underflow threshold. */
const EXP_CAP = 100_000_000;

function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

function hexValue(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Case-insensitive: does `buf` at `i` spell the lowercase ASCII `word`? */
function spells(buf: Uint8Array, i: number, word: string): boolean {
  if (buf.length - i < word.length) return false;
  for (let j = 0; j < word.length; j++) {
    if ((buf[i + j] | 0x20) !== word.charCodeAt(j)) return false;
  }
  return true;
}

/** Read an optionally signed decimal exponent filling `buf` from `i` to the end, or null. */
function scanExponent(buf: Uint8Array, i: number): number | null {
  const len = buf.length;
  let negative = false;
  if (i < len && (buf[i] === CH_PLUS || buf[i] === CH_MINUS)) {
    negative = buf[i] === CH_MINUS;
    i++;
  }
  if (i === len) return null;
  let v = 0;
  for (; i < len; i++) {
    const c = buf[i];
    if (!isDigit(c)) return null;
    if (v < EXP_CAP) v = v * 10 + (c - CH_0);
  }
  return negative ? -v : v;
}

/**
 * Match the whole buffer against the C-locale strtod grammar. NaN spellings and anything
 * with bytes left over (which strtod would leave unparsed) give null, since both Redis
 * parsers reject them.
 */
function scanFloat(buf: Uint8Array): ScannedFloat | null {
  const len = buf.length;
  let i = 0;
  let neg = false;
  if (len > 0 && (buf[0] === CH_PLUS || buf[0] === CH_MINUS)) {
    neg = buf[0] === CH_MINUS;
    i = 1;
  }
  if (i >= len) return null;
  const lead = buf[i] | 0x20;
  if (lead === 0x69 /* i */) {
    if (spells(buf, i, 'inf') && (len - i === 3 || (len - i === 8 && spells(buf, i, 'infinity')))) {
      return { kind: 'inf', neg };
    }
    return null;
  }
  if (buf[i] === CH_0 && i + 1 < len && (buf[i + 1] | 0x20) === 0x78 /* x */) {
    return scanHex(buf, i + 2, neg);
  }
  return scanDecimal(buf, i, neg);
}

function scanDecimal(buf: Uint8Array, i: number, neg: boolean): ScannedFloat | null {
  const len = buf.length;
  const intStart = i;
  while (i < len && isDigit(buf[i])) i++;
  const intEnd = i;
  let fracStart = i;
  let fracEnd = i;
  if (i < len && buf[i] === CH_DOT) {
    i++;
    fracStart = i;
    while (i < len && isDigit(buf[i])) i++;
    fracEnd = i;
  }
  if (intEnd === intStart && fracEnd === fracStart) return null;
  let exp10 = 0;
  if (i < len) {
    if ((buf[i] | 0x20) !== 0x65 /* e */) return null;
    const e = scanExponent(buf, i + 1);
    if (e === null) return null;
    exp10 = e;
  }
  let digits = bytesToAscii(buf, intStart, intEnd) + bytesToAscii(buf, fracStart, fracEnd);
  exp10 -= fracEnd - fracStart;
  let lo = 0;
  while (lo < digits.length && digits.charCodeAt(lo) === CH_0) lo++;
  let hi = digits.length;
  while (hi > lo && digits.charCodeAt(hi - 1) === CH_0) hi--;
  exp10 += digits.length - hi;
  digits = digits.slice(lo, hi);
  return { kind: 'dec', neg, digits, exp10 };
}

function scanHex(buf: Uint8Array, i: number, neg: boolean): ScannedFloat | null {
  const len = buf.length;
  let mant = 0n;
  let nDigits = 0;
  let fracDigits = 0;
  let acc = 0;
  let accDigits = 0;
  let seenDot = false;
  for (; i < len; i++) {
    const c = buf[i];
    if (c === CH_DOT && !seenDot) {
      seenDot = true;
      continue;
    }
    const h = hexValue(c);
    if (h < 0) break;
    acc = acc * 16 + h;
    accDigits++;
    if (accDigits === 12) {
      mant = (mant << 48n) | BigInt(acc);
      acc = 0;
      accDigits = 0;
    }
    nDigits++;
    if (seenDot) fracDigits++;
  }
  // "0x" with no hex digit: strtod reads only the "0" and leaves the "x...".
  if (nDigits === 0) return null;
  mant = (mant << BigInt(4 * accDigits)) | BigInt(acc);
  let exp2 = -4 * fracDigits;
  if (i < len) {
    if ((buf[i] | 0x20) !== 0x70 /* p */) return null;
    const e = scanExponent(buf, i + 1);
    if (e === null) return null;
    exp2 += e;
  }
  return { kind: 'hex', neg, mant, exp2 };
}

function bytesToAscii(buf: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/** Round a scanned finite literal to `fmt`. */
function roundScanned(sc: ScannedFloat, fmt: BinaryFormat): LongDouble {
  if (sc.kind === 'inf') return ldInf(sc.neg);
  if (sc.kind === 'hex') {
    if (sc.mant === 0n) return ldZero(sc.neg);
    // Keep the scale bounded: far beyond either end the answer is known.
    const top = bitLength(sc.mant) + sc.exp2;
    if (top > fmt.expMax + fmt.precision + 2) return ldInf(sc.neg);
    if (top < fmt.expMin - 2) return ldZero(sc.neg);
    return roundExact(sc.neg, sc.mant, 1n, sc.exp2, fmt);
  }
  if (sc.digits === '') return ldZero(sc.neg);
  // The value lies in [10^(sci-1), 10^sci).
  const sci = sc.exp10 + sc.digits.length;
  const maxDecimalExp = Math.ceil((fmt.expMax + fmt.precision) * Math.LOG10E * Math.LN2) + 2;
  const minDecimalExp = Math.floor(fmt.expMin * Math.LOG10E * Math.LN2) - 2;
  if (sci > maxDecimalExp) return ldInf(sc.neg);
  if (sci < minDecimalExp) return ldZero(sc.neg);
  const d = BigInt(sc.digits);
  return sc.exp10 >= 0
    ? roundExact(sc.neg, d * pow10(sc.exp10), 1n, 0, fmt)
    : roundExact(sc.neg, d, pow10(-sc.exp10), 0, fmt);
}

/** Does a scanned literal denote a nonzero value (so that a zero result is an underflow)? */
function scannedNonZero(sc: ScannedFloat): boolean {
  return sc.kind === 'dec' ? sc.digits !== '' : sc.kind === 'hex' ? sc.mant !== 0n : true;
}

/* ------------------------------------------------------------------------------------------ */
/* long double (INCRBYFLOAT, HINCRBYFLOAT)                                                    */
/* ------------------------------------------------------------------------------------------ */

/** MAX_LONG_DOUBLE_CHARS: string2ld refuses inputs this long, ld2string outputs this long. */
const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

/**
 * Redis `string2ld`: the x87 long double spelled by `buf`, or null. Accepts "inf"/"infinity"
 * (callers reject the infinite *result*); rejects NaN, overflow and underflow to zero.
 */
export function parseLongDouble(buf: Uint8Array): LongDouble | null {
  if (buf.length === 0 || buf.length >= MAX_LONG_DOUBLE_CHARS) return null;
  const sc = scanFloat(buf);
  if (sc === null) return null;
  const v = roundScanned(sc, X87);
  if (sc.kind !== 'inf' && v.kind === 'inf') return null;
  if (v.kind === 'finite' && v.mant === 0n && scannedNonZero(sc)) return null;
  return v;
}

/** `a + b` in x87 extended precision, round to nearest even (C `long double` addition). */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  if (a.kind === 'nan' || b.kind === 'nan') return LD_NAN;
  if (a.kind === 'inf') return b.kind === 'inf' && b.neg !== a.neg ? LD_NAN : a;
  if (b.kind === 'inf') return b;
  if (a.mant === 0n) return b.mant === 0n ? ldZero(a.neg && b.neg) : b;
  if (b.mant === 0n) return a;
  const exp = Math.min(a.exp, b.exp);
  const am = a.mant << BigInt(a.exp - exp);
  const bm = b.mant << BigInt(b.exp - exp);
  const sum = (a.neg ? -am : am) + (b.neg ? -bm : bm);
  if (sum === 0n) return ldZero(false);
  return sum < 0n ? roundExact(true, -sum, 1n, exp, X87) : roundExact(false, sum, 1n, exp, X87);
}

export function isFiniteLongDouble(x: LongDouble): boolean {
  return x.kind === 'finite';
}

const F64_SCRATCH = new DataView(new ArrayBuffer(8));

/** The exact long double holding a JS number (every double is representable). */
export function longDoubleFromNumber(x: number): LongDouble {
  if (Number.isNaN(x)) return LD_NAN;
  if (x === Infinity || x === -Infinity) return ldInf(x < 0);
  if (x === 0) return ldZero(Object.is(x, -0));
  const { mant, exp } = decomposeDouble(x);
  return { kind: 'finite', neg: x < 0, mant, exp };
}

/** The double nearest to a long double (round to nearest even, like a C cast). */
export function longDoubleToNumber(x: LongDouble): number {
  if (x.kind === 'nan') return NaN;
  if (x.kind === 'inf') return x.neg ? -Infinity : Infinity;
  if (x.mant === 0n) return x.neg ? -0 : 0;
  const r = roundExact(x.neg, x.mant, 1n, x.exp, F64);
  if (r.kind !== 'finite') return x.neg ? -Infinity : Infinity;
  const v = Number(r.mant) * 2 ** r.exp;
  return x.neg ? -v : v;
}

const TEN_17 = 10n ** 17n;

/**
 * Redis `ld2string(..., LD_STR_HUMAN)`: glibc `%.17Lf`, trailing zeros and a bare dot trimmed,
 * "-0" turned into "0"; infinities as "inf"/"-inf". A `number` argument is formatted as the
 * long double holding exactly that double (so 10.6 prints "10.59999999999999964"; do the
 * arithmetic in `LongDouble` to get Redis's "10.6").
 */
export function formatLongDouble(x: LongDouble | number): string {
  const v = typeof x === 'number' ? longDoubleFromNumber(x) : x;
  if (v.kind === 'inf') return v.neg ? '-inf' : 'inf';
  if (v.kind === 'nan') return 'nan';
  let scaled: bigint;
  if (v.exp >= 0) {
    scaled = (v.mant << BigInt(v.exp)) * TEN_17;
  } else {
    const num = v.mant * TEN_17;
    const bits = BigInt(-v.exp);
    scaled = num >> bits;
    const rem = num - (scaled << bits);
    const half = 1n << (bits - 1n);
    if (rem > half || (rem === half && (scaled & 1n) === 1n)) scaled += 1n;
  }
  let digits = scaled.toString();
  if (digits.length < 18) digits = '0'.repeat(18 - digits.length) + digits;
  // snprintf into a MAX_LONG_DOUBLE_CHARS buffer: on truncation ld2string returns length 0.
  const untrimmedLength = (v.neg ? 1 : 0) + digits.length + 1;
  if (untrimmedLength + 1 > MAX_LONG_DOUBLE_CHARS) return '';
  const intPart = digits.slice(0, digits.length - 17);
  let end = digits.length;
  while (end > digits.length - 17 && digits.charCodeAt(end - 1) === CH_0) end--;
  const frac = digits.slice(digits.length - 17, end);
  const text = (v.neg ? '-' : '') + (frac === '' ? intPart : intPart + '.' + frac);
  return text === '-0' ? '0' : text;
}

export type IncrByFloatResult =
  | { readonly ok: true; readonly value: LongDouble; readonly text: string }
  /**
   * 'not-a-float'     -> "ERR value is not a valid float"
   * 'nan-or-infinity' -> "ERR increment would produce NaN or Infinity"
   */
  | { readonly ok: false; readonly error: 'not-a-float' | 'nan-or-infinity' };

/**
 * INCRBYFLOAT on a string value (`null` when the key is missing): parse both with string2ld,
 * add in long double, refuse a NaN or infinite result, format with LD_STR_HUMAN. `text` is
 * both the reply and the new stored value.
 */
export function incrByFloat(current: Uint8Array | null, increment: Uint8Array): IncrByFloatResult {
  const value = current === null ? ldZero(false) : parseLongDouble(current);
  if (value === null) return { ok: false, error: 'not-a-float' };
  const incr = parseLongDouble(increment);
  if (incr === null) return { ok: false, error: 'not-a-float' };
  const sum = addLongDouble(value, incr);
  if (sum.kind !== 'finite') return { ok: false, error: 'nan-or-infinity' };
  return { ok: true, value: sum, text: formatLongDouble(sum) };
}

/* ------------------------------------------------------------------------------------------ */
/* double (ZADD scores and the like)                                                           */
/* ------------------------------------------------------------------------------------------ */

/**
 * Redis `string2d` (getDoubleFromObject): the double spelled by `buf`, or null. Accepts
 * "inf", "+inf", "-inf", "infinity" (any case) and hex floats; rejects NaN, overflow,
 * underflow to zero, spaces and trailing bytes.
 */
export function parseDouble(buf: Uint8Array): number | null {
  if (buf.length === 0) return null;
  const sc = scanFloat(buf);
  if (sc === null) return null;
  if (sc.kind === 'inf') return sc.neg ? -Infinity : Infinity;
  if (sc.kind === 'dec') {
    if (sc.digits === '') return sc.neg ? -0 : 0;
    // The text is validated ASCII in a grammar Number() shares, and V8 rounds correctly.
    const v = Number(bytesToAscii(buf, 0, buf.length));
    if (v === 0 || v === Infinity || v === -Infinity) return null;
    return v;
  }
  const r = roundScanned(sc, F64);
  if (r.kind !== 'finite' || r.mant === 0n) return sc.mant === 0n ? (sc.neg ? -0 : 0) : null;
  return longDoubleToNumber(r);
}

function decomposeDouble(x: number): { mant: bigint; exp: number } {
  // x finite and nonzero; the sign is dropped.
  F64_SCRATCH.setFloat64(0, x);
  const hi = F64_SCRATCH.getUint32(0);
  const lo = F64_SCRATCH.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mant: fraction, exp: -1074 };
  return { mant: fraction | (1n << 52n), exp: biased - 1075 };
}

/**
 * Redis `addReplyDouble` payload: `%.17g`, with infinities as "inf"/"-inf". The same text is
 * the RESP2 bulk string and the RESP3 double (",<text>\r\n"). NaN prints "nan" (glibc would
 * print "-nan" for a NaN with the sign bit set; JS cannot observe that).
 */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const { digits, exp } = seventeenDigits(Math.abs(x));
  const sign = x < 0 ? '-' : '';
  if (exp < -4 || exp >= 17) {
    const frac = trimZeros(digits.slice(1));
    const e = Math.abs(exp);
    return `${sign}${digits[0]}${frac === '' ? '' : '.' + frac}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (exp >= 0) {
    const frac = trimZeros(digits.slice(exp + 1));
    return `${sign}${digits.slice(0, exp + 1)}${frac === '' ? '' : '.' + frac}`;
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${trimZeros(digits)}`;
}

function trimZeros(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === CH_0) end--;
  return s.slice(0, end);
}

/** 17 significant digits of x > 0, rounded half-even on the exact value, and the exponent. */
function seventeenDigits(x: number): { digits: string; exp: number } {
  const s = x.toExponential(16);
  const ePos = s.indexOf('e');
  let digits = s[0] + s.slice(2, ePos);
  let exp = Number(s.slice(ePos + 1));
  // toExponential breaks ties away from zero, glibc to even. A tie shows as an 18th digit 5
  // with nothing after it in the exact value; only then is there anything to check.
  const t = x.toExponential(17);
  const tePos = t.indexOf('e');
  if (t.charCodeAt(tePos - 1) === 0x35 /* 5 */) {
    const d18 = t[0] + t.slice(2, tePos);
    const e18 = Number(t.slice(tePos + 1));
    if (exactlyEquals(x, BigInt(d18), e18 - 17)) {
      const truncated = d18.slice(0, 17);
      if ((truncated.charCodeAt(16) - CH_0) % 2 === 0) {
        digits = truncated;
        exp = e18;
      }
    }
  }
  return { digits, exp };
}

/** Is the double x > 0 exactly d * 10^e? */
function exactlyEquals(x: number, d: bigint, e: number): boolean {
  const { mant, exp } = decomposeDouble(x);
  let left = d;
  let right = mant;
  if (e >= 0) left *= pow10(e);
  else right *= pow10(-e);
  if (exp >= 0) right <<= BigInt(exp);
  else left <<= BigInt(-exp);
  return left === right;
}
