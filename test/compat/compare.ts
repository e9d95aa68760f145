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
}

export function compareReplies(mode: Mode, a: Buffer, b: Buffer, opts: CompareOptions = {}): string | null {
  if (a.equals(b)) return null;
  let fa: Frame;
  let fb: Frame;
  try {
    fa = decodeFrame(a);
    fb = decodeFrame(b);
  } catch (err) {
    return `replies differ (and one is not a single RESP frame: ${(err as Error).message})`;
  }
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
