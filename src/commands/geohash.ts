/**
 * Redis's geohash arithmetic (geohash.c, geohash_helper.c), ported so that every score,
 * decoded position, search area and distance equals Redis 7.0.15's bit for bit.
 *
 * A position is a 52-bit interleaved geohash: 26 bits of latitude offset (in the even bit
 * positions) and 26 of longitude (in the odd ones), over the Web Mercator latitude range
 * ±85.05112878 and longitude ±180. The sorted-set score is that integer as a double. A
 * search covers the centre cell and its 8 neighbours at a coarser step chosen from the
 * radius (geohashCalculateAreasByShapeWGS84); each cell is one score range.
 *
 * Hash bits are bigints where C works in uint64_t (an offset equal to 2^step sets a bit
 * above the 52, as Redis's does at longitude 180), and split 32-bit halves where a member's
 * score is decoded, the hot path of a search. The floating-point steps are written in the
 * order C evaluates them, so the doubles agree (x86-64 without FMA contraction). Redis's
 * trigonometry is glibc's libm; here sin, cos and asin are computed correctly rounded
 * (double-double, below), which agrees with glibc except where glibc itself is one ulp off
 * (about 1 call in 400 to 700): then a distance differs from Redis's in its last bit.
 */

export const GEO_STEP_MAX = 26;
export const GEO_LAT_MIN = -85.05112878;
export const GEO_LAT_MAX = 85.05112878;
export const GEO_LONG_MIN = -180;
export const GEO_LONG_MAX = 180;

const D_R = Math.PI / 180.0;
export const EARTH_RADIUS_IN_METERS = 6372797.560856;
const MERCATOR_MAX = 20037726.37;

/** GeoHashBits: `bits` holds step*2 significant bits (plus the 2^step edge case). */
export interface HashBits {
  bits: bigint;
  step: number;
}

export interface Range {
  min: number;
  max: number;
}

export interface Area {
  longitude: Range;
  latitude: Range;
}

/** The Web Mercator ranges Redis stores positions in (geohashGetCoordRange). */
export const LONG_RANGE: Range = { min: GEO_LONG_MIN, max: GEO_LONG_MAX };
export const LAT_RANGE: Range = { min: GEO_LAT_MIN, max: GEO_LAT_MAX };
/** The standard geohash latitude range GEOHASH re-encodes with. */
export const STANDARD_LAT_RANGE: Range = { min: -90, max: 90 };

const ZERO: HashBits = { bits: 0n, step: 0 };

export function isZero(h: HashBits): boolean {
  return h.bits === 0n && h.step === 0;
}

// ---------------------------------------------------------------------------------------
// Bit interleaving on 32-bit halves

/** The 16 low bits of v spread to the even positions of a 32-bit word. */
function spread16(v: number): number {
  v &= 0xffff;
  v = (v | (v << 8)) & 0x00ff00ff;
  v = (v | (v << 4)) & 0x0f0f0f0f;
  v = (v | (v << 2)) & 0x33333333;
  v = (v | (v << 1)) & 0x55555555;
  return v >>> 0;
}

/** The even-position bits of a 32-bit word, packed into 16 bits. */
function compact16(v: number): number {
  v &= 0x55555555;
  v = (v | (v >>> 1)) & 0x33333333;
  v = (v | (v >>> 2)) & 0x0f0f0f0f;
  v = (v | (v >>> 4)) & 0x00ff00ff;
  v = (v | (v >>> 8)) & 0x0000ffff;
  return v;
}

/** interleave64: x (latitude) in the even bits, y (longitude) in the odd bits. */
export function interleave64(x: number, y: number): bigint {
  const lo = (spread16(x) | (spread16(y) << 1)) >>> 0;
  const hi = (spread16(x >>> 16) | (spread16(y >>> 16) << 1)) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** deinterleave64 of the 64-bit value hi:lo: [latitude offset, longitude offset]. */
function deinterleave(hi: number, lo: number): [number, number] {
  const lat = (compact16(lo) | (compact16(hi) << 16)) >>> 0;
  const lon = (compact16(lo >>> 1) | (compact16(hi >>> 1) << 16)) >>> 0;
  return [lat, lon];
}

const TWO_32 = 4294967296;

// ---------------------------------------------------------------------------------------
// Encode / decode

/** geohashEncode: null where Redis returns 0 (out of range). */
export function encode(longRange: Range, latRange: Range, longitude: number, latitude: number, step: number): HashBits | null {
  if (step > 32 || step === 0) return null;
  if (longitude > GEO_LONG_MAX || longitude < GEO_LONG_MIN || latitude > GEO_LAT_MAX || latitude < GEO_LAT_MIN) return null;
  if (latitude < latRange.min || latitude > latRange.max || longitude < longRange.min || longitude > longRange.max) return null;
  let latOffset = (latitude - latRange.min) / (latRange.max - latRange.min);
  let longOffset = (longitude - longRange.min) / (longRange.max - longRange.min);
  latOffset *= 2 ** step;
  longOffset *= 2 ** step;
  // (uint32_t) of a double in [0, 2^step]: truncation.
  return { bits: interleave64(Math.trunc(latOffset), Math.trunc(longOffset)), step };
}

/** geohashAlign52Bits: the hash as a 52-bit score prefix. */
export function align52(h: HashBits): bigint {
  return BigInt.asUintN(64, h.bits << BigInt(52 - h.step * 2));
}

/** The sorted-set score GEOADD stores for a position (already range-checked). */
export function scoreOf(longitude: number, latitude: number): number {
  const h = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, GEO_STEP_MAX);
  if (h === null) throw new Error('scoreOf: position out of range');
  // ZADD reads sdsfromlonglong(bits) back with strtod: the nearest double.
  return Number(align52(h));
}

function areaOf(longRange: Range, latRange: Range, ilato: number, ilono: number, step: number): Area {
  const latScale = latRange.max - latRange.min;
  const longScale = longRange.max - longRange.min;
  const div = 2 ** step;
  return {
    latitude: { min: latRange.min + ((ilato * 1.0) / div) * latScale, max: latRange.min + (((ilato + 1) * 1.0) / div) * latScale },
    longitude: { min: longRange.min + ((ilono * 1.0) / div) * longScale, max: longRange.min + (((ilono + 1) * 1.0) / div) * longScale },
  };
}

/** geohashDecode: null for a zeroed hash. */
export function decode(longRange: Range, latRange: Range, h: HashBits): Area | null {
  if (isZero(h)) return null;
  const bits = BigInt.asUintN(64, h.bits);
  const [lat, lon] = deinterleave(Number(bits >> 32n), Number(bits & 0xffffffffn));
  return areaOf(longRange, latRange, lat, lon, h.step);
}

/** geohashDecodeAreaToLongLat: the cell's centre, clamped to the valid ranges. */
function centre(a: Area): [number, number] {
  let x = (a.longitude.min + a.longitude.max) / 2;
  if (x > GEO_LONG_MAX) x = GEO_LONG_MAX;
  if (x < GEO_LONG_MIN) x = GEO_LONG_MIN;
  let y = (a.latitude.min + a.latitude.max) / 2;
  if (y > GEO_LAT_MAX) y = GEO_LAT_MAX;
  if (y < GEO_LAT_MIN) y = GEO_LAT_MIN;
  return [x, y];
}

/**
 * `(uint64_t)score` as gcc compiles it on x86-64 (cvttsd2si, with 2^63 subtracted and the
 * top bit restored for values from 2^63): only reachable with scores ZADD put there.
 */
function toUint64(score: number): [number, number] {
  let v: bigint;
  if (score < 2 ** 63) v = score >= -(2 ** 63) ? BigInt.asUintN(64, BigInt(Math.trunc(score))) : 1n << 63n;
  else v = score < 2 ** 64 ? BigInt(Math.trunc(score)) : 0n;
  return [Number(v >> 32n), Number(v & 0xffffffffn)];
}

/** decodeGeohash of a stored score: [longitude, latitude] of its step-26 cell's centre. */
export function decodeScore(score: number): [number, number] {
  let hi: number;
  let lo: number;
  if (score >= 0 && score < 2 ** 64) {
    const s = Math.trunc(score);
    hi = Math.floor(s / TWO_32);
    lo = s - hi * TWO_32;
  } else [hi, lo] = toUint64(score);
  const [lat, lon] = deinterleave(hi >>> 0, lo >>> 0);
  return centre(areaOf(LONG_RANGE, LAT_RANGE, lat, lon, GEO_STEP_MAX));
}

const GEOALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz';

/** GEOHASH's 11-character string of a stored score (re-encoded on latitude ±90). */
export function geohashString(score: number): string {
  const [lon, lat] = decodeScore(score);
  const h = encode(LONG_RANGE, STANDARD_LAT_RANGE, lon, lat, 26);
  const bits = h === null ? 0n : h.bits;
  let out = '';
  for (let i = 0; i < 11; i++) {
    const idx = i === 10 ? 0 : Number((bits >> BigInt(52 - (i + 1) * 5)) & 0x1fn);
    out += GEOALPHABET[idx];
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Neighbours

const EVEN = 0x5555555555555555n;
const ODD = 0xaaaaaaaaaaaaaaaan;

function moveX(h: HashBits, d: number): HashBits {
  if (d === 0) return h;
  let x = h.bits & ODD;
  const y = h.bits & EVEN;
  const shift = BigInt(64 - h.step * 2);
  const zz = EVEN >> shift;
  if (d > 0) x = x + (zz + 1n);
  else {
    x = x | zz;
    x = x - (zz + 1n);
  }
  x &= ODD >> shift;
  return { bits: x | y, step: h.step };
}

function moveY(h: HashBits, d: number): HashBits {
  if (d === 0) return h;
  const x = h.bits & ODD;
  let y = h.bits & EVEN;
  const shift = BigInt(64 - h.step * 2);
  const zz = ODD >> shift;
  if (d > 0) y = y + (zz + 1n);
  else {
    y = y | zz;
    y = y - (zz + 1n);
  }
  y &= EVEN >> shift;
  return { bits: x | y, step: h.step };
}

export interface Neighbors {
  north: HashBits;
  south: HashBits;
  east: HashBits;
  west: HashBits;
  northEast: HashBits;
  northWest: HashBits;
  southEast: HashBits;
  southWest: HashBits;
}

export function neighbors(h: HashBits): Neighbors {
  return {
    east: moveX(h, 1),
    west: moveX(h, -1),
    south: moveY(h, -1),
    north: moveY(h, 1),
    northWest: moveY(moveX(h, -1), 1),
    northEast: moveY(moveX(h, 1), 1),
    southEast: moveY(moveX(h, 1), -1),
    southWest: moveY(moveX(h, -1), -1),
  };
}

// ---------------------------------------------------------------------------------------
// Search areas

/** A search shape (GeoShape): a centre and a radius or a box, in `conversion` units. */
export type Shape =
  | { type: 'radius'; xy: [number, number]; conversion: number; radius: number }
  | { type: 'box'; xy: [number, number]; conversion: number; width: number; height: number };

const degRad = (ang: number): number => ang * D_R;
const radDeg = (ang: number): number => ang / D_R;

/** geohashEstimateStepsByRadius. */
export function estimateStepsByRadius(rangeMeters: number, lat: number): number {
  if (rangeMeters === 0) return 26;
  let step = 1;
  while (rangeMeters < MERCATOR_MAX) {
    rangeMeters *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > 26) step = 26;
  return step;
}

/** geohashBoundingBox: [min lon, min lat, max lon, max lat]. */
export function boundingBox(s: Shape): [number, number, number, number] {
  const [longitude, latitude] = s.xy;
  const height = s.conversion * (s.type === 'radius' ? s.radius : s.height / 2);
  const width = s.conversion * (s.type === 'radius' ? s.radius : s.width / 2);
  const latDelta = radDeg(height / EARTH_RADIUS_IN_METERS);
  const longDeltaTop = radDeg(width / EARTH_RADIUS_IN_METERS / crCos(degRad(latitude + latDelta)));
  const longDeltaBottom = radDeg(width / EARTH_RADIUS_IN_METERS / crCos(degRad(latitude - latDelta)));
  const southern = latitude < 0;
  return [
    southern ? longitude - longDeltaBottom : longitude - longDeltaTop,
    latitude - latDelta,
    southern ? longitude + longDeltaBottom : longitude + longDeltaTop,
    latitude + latDelta,
  ];
}

/**
 * geohashCalculateAreasByShapeWGS84: the centre cell and its 8 neighbours, in Redis's
 * search order (centre, N, S, E, W, NE, NW, SE, SW); the neighbours that cannot hold a
 * match are zeroed.
 */
export function areasByShape(s: Shape): HashBits[] {
  const [minLon, minLat, maxLon, maxLat] = boundingBox(s);
  const [longitude, latitude] = s.xy;
  let radiusMeters = s.type === 'radius' ? s.radius : Math.sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2));
  radiusMeters *= s.conversion;
  let steps = estimateStepsByRadius(radiusMeters, latitude);
  let hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps) as HashBits;
  let n = neighbors(hash);
  let area = decode(LONG_RANGE, LAT_RANGE, hash) as Area;
  let decreaseStep = false;
  {
    const north = decode(LONG_RANGE, LAT_RANGE, n.north) as Area;
    const south = decode(LONG_RANGE, LAT_RANGE, n.south) as Area;
    const east = decode(LONG_RANGE, LAT_RANGE, n.east) as Area;
    const west = decode(LONG_RANGE, LAT_RANGE, n.west) as Area;
    if (north.latitude.max < maxLat) decreaseStep = true;
    if (south.latitude.min > minLat) decreaseStep = true;
    if (east.longitude.max < maxLon) decreaseStep = true;
    if (west.longitude.min > minLon) decreaseStep = true;
  }
  if (steps > 1 && decreaseStep) {
    steps--;
    hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps) as HashBits;
    n = neighbors(hash);
    area = decode(LONG_RANGE, LAT_RANGE, hash) as Area;
  }
  if (steps >= 2) {
    if (area.latitude.min < minLat) {
      n.south = ZERO;
      n.southWest = ZERO;
      n.southEast = ZERO;
    }
    if (area.latitude.max > maxLat) {
      n.north = ZERO;
      n.northEast = ZERO;
      n.northWest = ZERO;
    }
    if (area.longitude.min < minLon) {
      n.west = ZERO;
      n.southWest = ZERO;
      n.northWest = ZERO;
    }
    if (area.longitude.max > maxLon) {
      n.east = ZERO;
      n.southEast = ZERO;
      n.northEast = ZERO;
    }
  }
  return [hash, n.north, n.south, n.east, n.west, n.northEast, n.northWest, n.southEast, n.southWest];
}

/** scoresOfGeoHashBox: the score range [min, max) of a cell's members. */
export function scoreRangeOf(h: HashBits): [number, number] {
  const min = align52(h);
  const max = align52({ bits: h.bits + 1n, step: h.step });
  return [Number(min), Number(max)];
}

// ---------------------------------------------------------------------------------------
// Distances

/** geohashGetDistance: haversine on Redis's Earth radius, in meters. */
export function distance(lon1d: number, lat1d: number, lon2d: number, lat2d: number): number {
  const lat1r = degRad(lat1d);
  const lon1r = degRad(lon1d);
  const lat2r = degRad(lat2d);
  const lon2r = degRad(lon2d);
  const u = crSin((lat2r - lat1r) / 2);
  const v = crSin((lon2r - lon1r) / 2);
  return 2.0 * EARTH_RADIUS_IN_METERS * crAsin(Math.sqrt(u * u + crCos(lat1r) * crCos(lat2r) * v * v));
}

/**
 * Whether the point (x2, y2) lies in the shape centred at its xy, and its distance from the
 * centre (geohashGetDistanceIfInRadiusWGS84 / geohashGetDistanceIfInRectangle); null when
 * outside.
 */
export function distanceIfWithin(s: Shape, x2: number, y2: number): number | null {
  const [x1, y1] = s.xy;
  if (s.type === 'radius') {
    const d = distance(x1, y1, x2, y2);
    return d > s.radius * s.conversion ? null : d;
  }
  const widthM = s.width * s.conversion;
  const heightM = s.height * s.conversion;
  const lonDistance = distance(x2, y2, x1, y2);
  const latDistance = distance(x2, y2, x2, y1);
  if (lonDistance > widthM / 2 || latDistance > heightM / 2) return null;
  return distance(x1, y1, x2, y2);
}

// ---------------------------------------------------------------------------------------
// Correctly rounded sin, cos and asin (double-double arithmetic)
//
// Redis calls glibc's libm. Its sin, cos and asin are within 0.55 ulp: one ulp off in about
// 1 call in 400 to 700 (measured against glibc 2.36). V8's Math.sin/cos/asin (fdlibm) are off
// in about 1 call in 30, which showed in most STOREDIST scores (17 significant digits).
// These evaluate in double-double (about 106 bits) and round once: correctly rounded except
// where the exact value lies within about 2^-100 of a rounding midpoint, so they agree with
// glibc wherever glibc is itself correctly rounded.

type DD = [number, number];

const SPLITTER = 134217729; // 2^27 + 1

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

function twoProd(a: number, b: number): DD {
  const p = a * b;
  let t = SPLITTER * a;
  const ahi = t - (t - a);
  const alo = a - ahi;
  t = SPLITTER * b;
  const bhi = t - (t - b);
  const blo = b - bhi;
  return [p, ahi * bhi - p + ahi * blo + alo * bhi + alo * blo];
}

function ddAdd(a: DD, b: DD): DD {
  const s = twoSum(a[0], b[0]);
  const t = twoSum(a[1], b[1]);
  let u = quickTwoSum(s[0], s[1] + t[0]);
  u = quickTwoSum(u[0], u[1] + t[1]);
  return u;
}

function ddMul(a: DD, b: DD): DD {
  const p = twoProd(a[0], b[0]);
  return quickTwoSum(p[0], p[1] + (a[0] * b[1] + a[1] * b[0]));
}

function ddDivInt(a: DD, n: number): DD {
  const q1 = a[0] / n;
  const p = twoProd(q1, n);
  const r = ddAdd(a, [-p[0], -p[1]]);
  const q2 = r[0] / n;
  return quickTwoSum(q1, q2);
}

/** 1/k! for k = 0..29 in double-double. */
const INV_FACT: DD[] = (() => {
  const out: DD[] = [[1, 0]];
  for (let k = 1; k < 30; k++) out.push(ddDivInt(out[k - 1], k));
  return out;
})();

// pi/2 as three doubles.
const PIO2_1 = 1.5707963267948966;
const PIO2_2 = 6.123233995736766e-17;
const PIO2_3 = -1.4973849048591698e-33;

/** sin(r) and cos(r) for |r| <= pi/4 + a little, r in double-double (Taylor, Horner). */
function sinCosReduced(r: DD): [DD, DD] {
  const z = ddMul(r, r);
  const term = (n: number, negative: boolean): DD => (negative ? [-INV_FACT[n][0], -INV_FACT[n][1]] : INV_FACT[n]);
  // sin(r)/r = sum over j of (-1)^j z^j / (2j+1)!, j = 0..13.
  let s = term(27, true);
  for (let j = 12; j >= 0; j--) s = ddAdd(ddMul(s, z), term(2 * j + 1, j % 2 === 1));
  // cos(r) = sum over j of (-1)^j z^j / (2j)!, j = 0..14.
  let c = term(28, false);
  for (let j = 13; j >= 0; j--) c = ddAdd(ddMul(c, z), term(2 * j, j % 2 === 1));
  return [ddMul(s, r), c];
}

/** The quadrant k and the reduced argument x - k*pi/2, for |x| up to a few pi. */
function reduce(x: number): [number, DD] {
  const k = Math.round(x / PIO2_1);
  // k*PIO2_1 is exact for |k| <= 4 and x - k*PIO2_1 is exact (Sterbenz) near the multiple.
  let r: DD = twoSum(x, -k * PIO2_1);
  r = ddAdd(r, twoProd(-k, PIO2_2));
  r = ddAdd(r, twoProd(-k, PIO2_3));
  return [k, r];
}

function sinCosDD(x: number): [DD, DD] {
  const [k, r] = reduce(x);
  const [s, c] = sinCosReduced(r);
  const neg = (d: DD): DD => [-d[0], -d[1]];
  switch (((k % 4) + 4) % 4) {
    case 0:
      return [s, c];
    case 1:
      return [c, neg(s)];
    case 2:
      return [neg(s), neg(c)];
    default:
      return [neg(c), s];
  }
}

// The fast path: x = a + b with a = i/128 (b exact, |b| <= 1/256), sin and cos of a from a
// table filled lazily by the series above, and of b from a short series whose leading term
// is double-double: about 2^-90 relative, enough to round correctly but where the value is
// within 2^-37 ulp of a midpoint. Written on scalars (results in module variables): this
// runs for every candidate of a search.

const TABLE_STEP = 128;
const TABLE_SIZE = 8 * TABLE_STEP + 2;
const SIN_HI = new Float64Array(TABLE_SIZE);
const SIN_LO = new Float64Array(TABLE_SIZE);
const COS_HI = new Float64Array(TABLE_SIZE);
const COS_LO = new Float64Array(TABLE_SIZE);
const FILLED = new Uint8Array(TABLE_SIZE);

/** twoProd into (PH, PL). */
let PH = 0;
let PL = 0;
function twoProdG(a: number, b: number): void {
  PH = a * b;
  let t = SPLITTER * a;
  const ahi = t - (t - a);
  const alo = a - ahi;
  t = SPLITTER * b;
  const bhi = t - (t - b);
  const blo = b - bhi;
  PL = ahi * bhi - PH + ahi * blo + alo * bhi + alo * blo;
}

/** sinCosFast's results: sin(x) = SH + SL, cos(x) = CH + CL (not renormalized). */
let SH = 0;
let SL = 0;
let CH = 0;
let CL = 0;

function sinCosFast(x: number): void {
  const i = Math.round(x * TABLE_STEP);
  const b = x - i / TABLE_STEP;
  const k = i < 0 ? -i : i;
  if (FILLED[k] === 0) {
    const [ts, tc] = sinCosDD(k / TABLE_STEP);
    SIN_HI[k] = ts[0];
    SIN_LO[k] = ts[1];
    COS_HI[k] = tc[0];
    COS_LO[k] = tc[1];
    FILLED[k] = 1;
  }
  const saH = i < 0 ? -SIN_HI[k] : SIN_HI[k];
  const saL = i < 0 ? -SIN_LO[k] : SIN_LO[k];
  const caH = COS_HI[k];
  const caL = COS_LO[k];

  twoProdG(b, b);
  const zH = PH;
  const zL = PL;
  // t = -z/6 + z^2/120 - z^3/5040 + z^4/362880, the first term double-double.
  const q1 = -zH / 6;
  twoProdG(q1, 6);
  const q2 = (-zH - PH - PL - zL) / 6;
  const tTail = zH * zH * (1 / 120 - zH * (1 / 5040 - zH / 362880));
  let tH = q1 + q2;
  let tL = q2 - (tH - q1) + tTail;
  const t0 = tH + tL;
  tL = tL - (t0 - tH);
  tH = t0;
  // sin b = b + b*t.
  twoProdG(b, tH);
  const btH = PH;
  const btL = PL + b * tL;
  let sbH = b + btH;
  let sbL = btH - (sbH - b) + btL;
  const s0 = sbH + sbL;
  sbL = sbL - (s0 - sbH);
  sbH = s0;
  // cos b = 1 + u, u = -z/2 + z^2/24 - z^3/720 + z^4/40320.
  const uTail = zH * zH * (1 / 24 - zH * (1 / 720 - zH / 40320));
  const uH = -zH / 2;
  const w = uH + uTail;
  const wL = uTail - (w - uH) - zL / 2;
  let cbH = 1 + w;
  let cbL = w - (cbH - 1) + wL;
  const c0 = cbH + cbL;
  cbL = cbL - (c0 - cbH);
  cbH = c0;

  // sin x = sa*cb + ca*sb;  cos x = ca*cb - sa*sb.
  twoProdG(saH, cbH);
  const p1H = PH;
  const p1L = PL + saH * cbL + saL * cbH;
  twoProdG(caH, sbH);
  const p2H = PH;
  const p2L = PL + caH * sbL + caL * sbH;
  SH = p1H + p2H;
  SL = p2H - (SH - p1H) + p1L + p2L;
  if (Math.abs(p2H) > Math.abs(p1H)) SL = p1H - (SH - p2H) + p1L + p2L;
  twoProdG(caH, cbH);
  const p3H = PH;
  const p3L = PL + caH * cbL + caL * cbH;
  twoProdG(-saH, sbH);
  const p4H = PH;
  const p4L = PL - saH * sbL - saL * sbH;
  CH = p3H + p4H;
  CL = Math.abs(p3H) >= Math.abs(p4H) ? p4H - (CH - p3H) + p3L + p4L : p3H - (CH - p4H) + p3L + p4L;
}

/** glibc's sin for the arguments geo math gives it (|x| <= 8). */
export function crSin(x: number): number {
  if (x === 0 || !Number.isFinite(x) || Math.abs(x) > 8) return Math.sin(x);
  sinCosFast(x);
  return SH + SL;
}

/** glibc's cos for |x| <= 8. */
export function crCos(x: number): number {
  if (!Number.isFinite(x) || Math.abs(x) > 8) return Math.cos(x);
  sinCosFast(x);
  return CH + CL;
}

/** glibc's asin: Math.asin refined by one double-double Newton step on sin. */
export function crAsin(t: number): number {
  const y0 = Math.asin(t);
  if (t === 0 || Number.isNaN(y0) || Math.abs(t) >= 1) return y0;
  sinCosFast(y0);
  // t - sin(y0), exactly enough: the two are within an ulp or two of each other.
  const d = t - SH - SL;
  return y0 + d / (CH + CL);
}
