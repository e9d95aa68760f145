/**
 * Comparison of two raw replies under a step's mode (see script.ts for what each mode is
 * for). Pure functions over bytes: `compareReplies` returns null when the replies agree and
 * a short reason otherwise. Modes other than 'exact' fall back to byte equality whenever
 * the replies are not of the kind the mode is about, so a mode can only ever relax the
 * comparison it was chosen for.
 */
import { decodeFrame, type Frame } from '../support/resp-frames';
import type { Mode } from './script';

export interface CompareOptions {
  tolerance?: number;
  vary?: string[];
  /** 'member-of': the allowed elements, each a 1-tuple (field) or 2-tuple (field, value). */
  members?: Buffer[][];
  /** 'member-of': no element may repeat within one reply. */
  distinct?: boolean;
}

export function compareReplies(mode: Mode, a: Buffer, b: Buffer, opts: CompareOptions = {}): string | null {
  // 'member-of' checks each reply on its own, so equal replies are checked too: a wrong
  // member list then fails redis-vs-redis instead of passing silently.
  if (mode === 'member-of') return compareMemberOf(a, b, opts.members ?? [], opts.distinct ?? false);
  if (a.equals(b)) return null;
  const decoded = decodeBoth(a, b);
  if (typeof decoded === 'string') return decoded;
  const [fa, fb] = decoded;
  switch (mode) {
    case 'exact':
      return 'replies differ';
    case 'unordered':
      return compareUnordered(fa, fb);
    case 'ttl':
      return compareTtl(fa, fb, opts.tolerance ?? 1);
    case 'skip-value':
      return opts.vary ? compareVarying(fa, fb, opts.vary) : compareShape(fa, fb, '');
    case 'error-prefix':
      return compareErrorPrefix(fa, fb);
    case 'unordered-pairs':
      return compareUnorderedPairs(fa, fb);
  }
}

function decodeBoth(a: Buffer, b: Buffer): [Frame, Frame] | string {
  try {
    return [decodeFrame(a), decodeFrame(b)];
  } catch (err) {
    return `replies differ (and one is not a single RESP frame: ${(err as Error).message})`;
  }
}

const AGGREGATES = new Set(['*', '~', '>', '%', '|']);
const ERRORS = new Set(['-', '!']);

function compareUnordered(a: Frame, b: Frame): string | null {
  if (a.type !== b.type || !AGGREGATES.has(a.type) || a.value !== null || b.value !== null) {
    return 'replies differ';
  }
  if (a.items.length !== b.items.length) return `aggregate sizes differ (${a.items.length} vs ${b.items.length})`;
  const step = a.type === '%' ? 2 : 1;
  const units = (f: Frame): Buffer[] => {
    const out: Buffer[] = [];
    for (let i = 0; i < f.items.length; i += step) {
      out.push(Buffer.concat(f.items.slice(i, i + step).map((item) => item.raw)));
    }
    return out.sort(Buffer.compare);
  };
  const ua = units(a);
  const ub = units(b);
  for (let i = 0; i < ua.length; i++) {
    if (!ua[i].equals(ub[i])) return 'elements differ as multisets';
  }
  return null;
}

function compareTtl(a: Frame, b: Frame, tolerance: number): string | null {
  if (a.type !== ':' || b.type !== ':' || !a.value || !b.value) return 'replies differ';
  const x = BigInt(a.value.toString('latin1'));
  const y = BigInt(b.value.toString('latin1'));
  if (x < 0n || y < 0n) return 'replies differ';
  const diff = x > y ? x - y : y - x;
  return diff <= BigInt(tolerance) ? null : `integers differ by ${diff} (> ${tolerance})`;
}

function compareShape(a: Frame, b: Frame, at: string): string | null {
  const where = at || 'reply';
  if (a.type !== b.type) return `type differs at ${where} ('${a.type}' vs '${b.type}')`;
  const aNull = a.value === null && a.items.length === 0;
  const bNull = b.value === null && b.items.length === 0;
  if (ERRORS.has(a.type)) return a.raw.equals(b.raw) ? null : `errors differ at ${where}`;
  if (!AGGREGATES.has(a.type)) return aNull === bNull ? null : `null vs non-null at ${where}`;
  if (a.items.length !== b.items.length) {
    return `aggregate size differs at ${where} (${a.items.length} vs ${b.items.length})`;
  }
  for (let i = 0; i < a.items.length; i++) {
    const r = compareShape(a.items[i], b.items[i], `${at}[${i}]`);
    if (r) return r;
  }
  return null;
}

/** A map, or a RESP2 flat key/value array: exact except the values of `vary` keys. */
function compareVarying(a: Frame, b: Frame, vary: string[]): string | null {
  // An array of maps (ACL LOG): each map compared so.
  const isMaps = (f: Frame): boolean => f.type === '*' && f.value === null && f.items.every((x) => x.value === null && (x.type === '%' || x.type === '*'));
  if (isMaps(a) && isMaps(b)) {
    if (a.items.length !== b.items.length) return `array sizes differ (${a.items.length} vs ${b.items.length})`;
    for (let i = 0; i < a.items.length; i++) {
      const r = compareVarying(a.items[i], b.items[i], vary);
      if (r) return `[${i}]: ${r}`;
    }
    return null;
  }
  const isPairs = (f: Frame): boolean => f.type === '%' || (f.type === '*' && f.value === null && f.items.length % 2 === 0);
  if (a.type !== b.type || !isPairs(a) || !isPairs(b)) return 'replies differ';
  if (a.items.length !== b.items.length) return `map sizes differ (${a.items.length / 2} vs ${b.items.length / 2})`;
  for (let i = 0; i < a.items.length; i += 2) {
    const key = a.items[i];
    if (!key.raw.equals(b.items[i].raw)) return `key #${i / 2} differs`;
    const name = key.value?.toString('latin1') ?? '';
    const va = a.items[i + 1];
    const vb = b.items[i + 1];
    if (vary.includes(name)) {
      const r = compareShape(va, vb, name);
      if (r) return r;
    } else if (!va.raw.equals(vb.raw)) {
      return `value of '${name}' differs`;
    }
  }
  return null;
}

function compareErrorPrefix(a: Frame, b: Frame): string | null {
  if (!ERRORS.has(a.type) || a.type !== b.type || !a.value || !b.value) return 'replies differ';
  const code = (f: Frame): string => (f.value as Buffer).toString('latin1').split(' ')[0];
  return code(a) === code(b) ? null : `error codes differ (${code(a)} vs ${code(b)})`;
}

/**
 * The field/value pairs of a reply, each as the concatenated raw bytes of its two frames
 * (RESP frames delimit themselves, so the concatenation is unambiguous), with the form the
 * reply used; null if the reply is not a pair aggregate.
 */
function pairsOf(f: Frame): { form: string; pairs: Buffer[] } | null {
  if (f.value !== null || !AGGREGATES.has(f.type)) return null;
  if (f.type === '%') return { form: 'map', pairs: chunk(f.items, 2) };
  if (f.type !== '*') return null;
  if (f.items.length > 0 && f.items.every((item) => item.type === '*' && item.value === null && item.items.length === 2)) {
    return { form: 'nested', pairs: f.items.map((item) => Buffer.concat(item.items.map((x) => x.raw))) };
  }
  if (f.items.length % 2 === 0 && f.items.every((item) => !AGGREGATES.has(item.type))) {
    return { form: 'flat', pairs: chunk(f.items, 2) };
  }
  return null;
}

function chunk(items: Frame[], size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < items.length; i += size) out.push(Buffer.concat(items.slice(i, i + size).map((item) => item.raw)));
  return out;
}

function compareUnorderedPairs(a: Frame, b: Frame): string | null {
  const pa = pairsOf(a);
  const pb = pairsOf(b);
  if (a.type !== b.type || !pa || !pb) return 'replies differ';
  if (pa.form !== pb.form) return `pair forms differ (${pa.form} vs ${pb.form})`;
  if (pa.pairs.length !== pb.pairs.length) return `pair counts differ (${pa.pairs.length} vs ${pb.pairs.length})`;
  const sa = [...pa.pairs].sort(Buffer.compare);
  const sb = [...pb.pairs].sort(Buffer.compare);
  for (let i = 0; i < sa.length; i++) {
    if (!sa[i].equals(sb[i])) return 'field/value pairs differ as multisets';
  }
  return null;
}

/**
 * The elements a random-pick reply is made of, as [field] or [field, value] payloads;
 * null if the reply is not made of elements of that width (then only byte equality counts).
 * A null bulk or null array holds no elements.
 */
function elementsOf(f: Frame, width: number): Buffer[][] | null {
  const leaf = (x: Frame): Buffer | null => (x.type === '$' && x.value !== null ? x.value : null);
  if (f.type === '$') {
    if (f.value === null) return [];
    return width === 1 ? [[f.value]] : null;
  }
  if (f.type === '_') return [];
  // A RESP3 set ('~', SPOP with a count) holds elements as an array does.
  if (f.type !== '*' && f.type !== '~') return null;
  if (f.value === null && f.items.length === 0) return [];
  const leaves = f.items.map(leaf);
  if (width === 1) return leaves.every((x) => x !== null) ? leaves.map((x) => [x as Buffer]) : null;
  if (f.items.every((item) => item.type === '*' && item.items.length === 2)) {
    const pairs = f.items.map((item) => item.items.map(leaf));
    return pairs.every((p) => p[0] !== null && p[1] !== null) ? (pairs as Buffer[][]) : null;
  }
  if (leaves.length % 2 === 0 && leaves.every((x) => x !== null)) {
    const out: Buffer[][] = [];
    for (let i = 0; i < leaves.length; i += 2) out.push([leaves[i] as Buffer, leaves[i + 1] as Buffer]);
    return out;
  }
  return null;
}

/** Why one reply is not made of distinct-if-asked `members`, or null if it is. */
function checkMembers(f: Frame, members: Buffer[][], distinct: boolean): string | null {
  const width = members.length > 0 ? members[0].length : 1;
  const elements = elementsOf(f, width);
  if (elements === null) return null;
  const id = (e: Buffer[]): string => e.map((x) => x.toString('hex')).join(':');
  const allowed = new Set(members.map(id));
  const seen = new Set<string>();
  for (const e of elements) {
    const key = id(e);
    if (!allowed.has(key)) return `element ${e.map((x) => JSON.stringify(x.toString('latin1'))).join('=')} is not one of the members`;
    if (distinct && seen.has(key)) return `element ${e.map((x) => JSON.stringify(x.toString('latin1'))).join('=')} repeats`;
    seen.add(key);
  }
  return null;
}

function compareMemberOf(a: Buffer, b: Buffer, members: Buffer[][], distinct: boolean): string | null {
  const decoded = decodeBoth(a, b);
  if (typeof decoded === 'string') return a.equals(b) ? null : decoded;
  const [fa, fb] = decoded;
  const width = members.length > 0 ? members[0].length : 1;
  const ea = elementsOf(fa, width);
  const eb = elementsOf(fb, width);
  if (ea === null || eb === null) return a.equals(b) ? null : 'replies differ';
  const ra = checkMembers(fa, members, distinct);
  if (ra) return `reference reply: ${ra}`;
  const rb = checkMembers(fb, members, distinct);
  if (rb) return `target reply: ${rb}`;
  return compareShape(fa, fb, '');
}
