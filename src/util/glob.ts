/*
 * Glob-style matching, a faithful port of `stringmatchlen` from Redis 7.0.15 as shipped
 * (util.c, including the CVE-2022-36021 "skipLongerMatches" cut-off and the CVE-2024-31228
 * nesting limit that the reference build carries). Used by KEYS, SCAN MATCH, PSUBSCRIBE,
 * CONFIG GET (nocase) and friends; it works on bytes and never throws.
 *
 * Quirks kept on purpose, because replies must match:
 *   - An empty subject matches only the empty pattern: the main loop stops as soon as the
 *     subject is used up, so "*" does NOT match "" here. KEYS and SCAN special-case the
 *     one-byte pattern "*" before calling this (KEYS "*" returns the empty key).
 *   - Malformed classes: "[abc" (no "]") is the class "abc"; "[" alone never matches;
 *     "[^" matches any one byte; "[a-]" is the range from "a" to "]"; "\" inside a class
 *     escapes the next byte (compared case-sensitively even in nocase mode); a trailing
 *     "\" is a literal backslash.
 *   - Ranges compare C `char`s, which are signed on x86-64: bytes 0x80-0xff sort below 0x00,
 *     so "[\x80-\x7f]" is every byte. Reversed ranges are swapped.
 *   - nocase uses glibc tolower in the C locale, which also maps the negative chars -128..-2
 *     to 128..254; that only shows in ranges with high bytes.
 *   - More than 1000 nested "*" (counted along the recursion) make the match fail.
 *   - The C code reads the NUL terminator one byte past the pattern; `at()` returns 0 there.
 */

const STAR = 0x2a;
const QUESTION = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const CARET = 0x5e;
const BACKSLASH = 0x5c;
const DASH = 0x2d;

/** Redis stops matching (no match) when `*` recursion goes deeper than this. */
const NESTING_MAX = 1000;

/** Redis `stringmatchlen(pattern, subject, nocase)`. */
export function stringMatch(pattern: Uint8Array, subject: Uint8Array, nocase: boolean): boolean {
  const state = { skipLongerMatches: false };
  return matchFrom(pattern, 0, subject, 0, nocase, state, 0);
}

/** The byte at `i`, or 0 (the C string terminator) past the end. */
function at(buf: Uint8Array, i: number): number {
  return i < buf.length ? buf[i] : 0;
}

/** A byte as a signed C char. */
function signedChar(b: number): number {
  return b > 127 ? b - 256 : b;
}

/** glibc tolower() in the C locale, for an int holding a (signed) char. */
function lowerC(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c + 32;
  if (c < -1) return c + 256;
  return c;
}

function matchFrom(
  pat: Uint8Array,
  p: number,
  str: Uint8Array,
  s: number,
  nocase: boolean,
  state: { skipLongerMatches: boolean },
  nesting: number,
): boolean {
  if (nesting > NESTING_MAX) return false;
  const pEnd = pat.length;
  const sEnd = str.length;
  while (p < pEnd && s < sEnd) {
    const pc = pat[p];
    if (pc === STAR) {
      while (at(pat, p + 1) === STAR) p++;
      if (pEnd - p === 1) return true;
      while (s < sEnd) {
        if (matchFrom(pat, p + 1, str, s, nocase, state, nesting + 1)) return true;
        // The rest of the pattern matched nowhere in a suffix already tried: a longer
        // match for an earlier '*' cannot help either.
        if (state.skipLongerMatches) return false;
        s++;
      }
      state.skipLongerMatches = true;
      return false;
    } else if (pc === QUESTION) {
      s++;
    } else if (pc === LBRACKET) {
      p++;
      const negate = at(pat, p) === CARET;
      if (negate) p++;
      const c = str[s];
      let match = false;
      for (;;) {
        const b = at(pat, p);
        if (b === BACKSLASH && pEnd - p >= 2) {
          p++;
          if (pat[p] === c) match = true;
        } else if (b === RBRACKET) {
          break;
        } else if (p === pEnd) {
          // Unterminated class: step back so the common advance below lands on the end.
          p--;
          break;
        } else if (pEnd - p >= 3 && pat[p + 1] === DASH) {
          let start = signedChar(b);
          let end = signedChar(pat[p + 2]);
          let cc = signedChar(c);
          if (start > end) {
            const t = start;
            start = end;
            end = t;
          }
          if (nocase) {
            start = lowerC(start);
            end = lowerC(end);
            cc = lowerC(cc);
          }
          p += 2;
          if (cc >= start && cc <= end) match = true;
        } else if (!nocase) {
          if (b === c) match = true;
        } else if (lowerC(signedChar(b)) === lowerC(signedChar(c))) {
          match = true;
        }
        p++;
      }
      if (negate) match = !match;
      if (!match) return false;
      s++;
    } else {
      // A backslash escapes the next byte, unless it is the last byte of the pattern.
      if (pc === BACKSLASH && pEnd - p >= 2) p++;
      const b = pat[p];
      const c = str[s];
      if (!nocase) {
        if (b !== c) return false;
      } else if (lowerC(signedChar(b)) !== lowerC(signedChar(c))) {
        return false;
      }
      s++;
    }
    p++;
    if (s === sEnd) {
      while (at(pat, p) === STAR) p++;
      break;
    }
  }
  return p === pEnd && s === sEnd;
}
