/**
 * HyperLogLog commands: PFADD, PFCOUNT, PFMERGE — what Redis's own tests/unit/hyperloglog.tcl
 * checks (cache, type checks, corrupted sparse and dense values, union counts), the exact
 * bytes of the value after every kind of change (GET: sparse opcodes, promotion to dense
 * past hll-sparse-max-bytes or for a register above 32, the cached cardinality), TTLs kept,
 * arity errors, and a seeded random sequence.
 *
 * PFMERGE and PFCOUNT of several keys name their keys together: in a cluster they must
 * share a replica set, so those keys carry one hash tag ({h}...).
 */
import { script, type Script, type StepInput } from '../script';
import { prng } from '../../support/prng';

/** A hand-made HLL value: the 16-byte header (cache valid, 0) then `body`. */
function hll(encoding: number, body: number[] | Buffer, card: number[] = [0, 0, 0, 0, 0, 0, 0, 0]): Buffer {
  return Buffer.concat([Buffer.from('HYLL', 'latin1'), Buffer.from([encoding, 0, 0, 0, ...card]), Buffer.from(body)]);
}

const STALE = [0, 0, 0, 0, 0, 0, 0, 0x80];
const DENSE_SIZE = 16 + 12288;

function elements(prefix: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(`${prefix}${i}`);
  return out;
}

/** Add `total` elements in batches of `step`, checking the count and the bytes after each. */
function growth(key: string, total: number, step: number): StepInput[] {
  const steps: StepInput[] = [];
  for (let i = 0; i < total; i += step) {
    steps.push(['PFADD', key, ...elements('e', i, Math.min(total, i + step))]);
    steps.push(['STRLEN', key]);
    steps.push(['PFCOUNT', key]);
    steps.push(['GET', key]);
  }
  return steps;
}

function randomScript(seed: number, n: number): StepInput[] {
  const rnd = prng(seed);
  const pick = (k: number): number => Math.floor(rnd() * k);
  const keys = ['{h}a', '{h}b', '{h}c', '{h}d'];
  const steps: StepInput[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.5) {
      const count = 1 + pick(rnd() < 0.2 ? 300 : 20);
      const pool = 1 + pick(4000);
      const els = Array.from({ length: count }, () => `r${pick(pool)}`);
      steps.push(['PFADD', keys[pick(keys.length)], ...els]);
    } else if (r < 0.65) {
      steps.push(['PFCOUNT', keys[pick(keys.length)]]);
    } else if (r < 0.75) {
      steps.push(['PFCOUNT', ...keys.filter(() => rnd() < 0.6), keys[pick(keys.length)]]);
    } else if (r < 0.85) {
      steps.push(['PFMERGE', keys[pick(keys.length)], ...keys.filter(() => rnd() < 0.5)]);
    } else if (r < 0.97) {
      steps.push(['GET', keys[pick(keys.length)]]);
    } else {
      steps.push(['DEL', keys[pick(keys.length)]]);
    }
  }
  for (const k of keys) steps.push(['GET', k], ['PFCOUNT', k], ['GET', k]);
  return steps;
}

export const hyperloglogScripts: Script[] = [
  script('hyperloglog: PFADD, PFCOUNT and the cached cardinality', [
    ['PFCOUNT', 'nokey'],
    ['PFADD', 'k', 'a', 'b', 'c'],
    ['GET', 'k'],
    ['PFCOUNT', 'k'],
    ['GET', 'k'],
    ['PFADD', 'k', 'a', 'b', 'c'],
    ['GETRANGE', 'k', '15', '15'],
    ['PFADD', 'k', '1', '2', '3'],
    ['GETRANGE', 'k', '15', '15'],
    ['PFCOUNT', 'k'],
    ['GET', 'k'],
    ['PFADD', 'empty'],
    ['GET', 'empty'],
    ['PFCOUNT', 'empty'],
    ['GET', 'empty'],
    ['PFADD', 'empty'],
    ['PFADD', 'bin', '', '\0', 'a\0b', 'x'.repeat(7), 'y'.repeat(8), 'z'.repeat(9), 'long'.repeat(100)],
    ['GET', 'bin'],
    ['PFCOUNT', 'bin'],
    // hyperloglog.tcl "PFADD returns 0 when no reg was modified" / "... 1 when at least 1 reg was modified"
    ['PFADD', 'hll', 'a', 'b', 'c'],
    ['PFADD', 'hll', 'a', 'b', 'c'],
    ['PFADD', 'hll', 'c', 'd', 'e'],
    ['PFADD', 'hll', 'a', 'b', 'c', 'd', 'e'],
    // "PFADD works with empty string (regression)"
    ['PFADD', 'hll', ''],
    // Split VAL runs and merges of neighbouring VAL opcodes: registers of 1..4 in a row.
    ['PFADD', 'seq', ...elements('s', 0, 40)],
    ['GET', 'seq'],
    ['PFADD', 'seq', ...elements('s', 40, 400)],
    ['GET', 'seq'],
    ['PFCOUNT', 'seq'],
    // TTL survives PFADD and PFCOUNT's cache update.
    ['SET', 'ttl', 'x', 'EX', '1000'],
    ['DEL', 'ttl'],
    ['PFADD', 'ttl', 'a'],
    ['EXPIRE', 'ttl', '1000'],
    ['PFADD', 'ttl', 'b', 'c'],
    ['TTL', 'ttl'],
    ['PFCOUNT', 'ttl'],
    ['TTL', 'ttl'],
    ['TYPE', 'ttl'],
  ]),

  script('hyperloglog: growth from sparse to dense', [
    ...growth('g', 3500, 250),
    ['PFADD', 'g', 'e0', 'e1'],
    ['PFCOUNT', 'g'],
    ['GETRANGE', 'g', '0', '15'],
  ]),

  script('hyperloglog: dense counts', [
    ...growth('d', 30000, 5000),
    ['PFADD', 'd', ...elements('x', 0, 2000)],
    ['PFCOUNT', 'd'],
    ['PFCOUNT', 'd'],
  ]),

  script('hyperloglog: register above 32 promotes a sparse HLL', [
    // A hand-made sparse HLL whose first register is 32: the dense copy keeps it.
    ['SET', 'p', hll(1, [0xfc, 0x7f, 0xfe], STALE)],
    ['PFCOUNT', 'p'],
    ['GET', 'p'],
    ['PFADD', 'p', 'a'],
    ['GET', 'p'],
    // A dense HLL with large registers, as PFADD of unlikely elements would leave it.
    ['SET', 'q', hll(0, Buffer.alloc(12288, 0xff), STALE)],
    ['PFCOUNT', 'q'],
    ['GET', 'q'],
    ['PFADD', 'q', 'a', 'b'],
    ['SET', 'q2', hll(0, Buffer.alloc(12288, 0x41), STALE)],
    ['PFCOUNT', 'q2'],
    ['PFADD', 'q2', ...elements('e', 0, 50)],
    ['PFCOUNT', 'q2'],
    ['GETRANGE', 'q2', '0', '40'],
  ]),

  script('hyperloglog: PFCOUNT of several keys and PFMERGE', [
    // hyperloglog.tcl "PFMERGE results on the cardinality of union of sets"
    ['PFADD', '{h}1', 'a', 'b', 'c'],
    ['PFADD', '{h}2', 'b', 'c', 'd'],
    ['PFADD', '{h}3', 'c', 'd', 'e'],
    ['PFMERGE', '{h}new', '{h}1', '{h}2', '{h}3'],
    ['PFCOUNT', '{h}new'],
    ['GET', '{h}new'],
    ['PFCOUNT', '{h}1', '{h}2', '{h}3'],
    ['PFCOUNT', '{h}1', '{h}missing'],
    ['PFCOUNT', '{h}missing', '{h}other'],
    ['EXISTS', '{h}missing'],
    // Into an existing destination, which is one of the inputs.
    ['PFADD', '{h}dst', 'z', 'y'],
    ['PFMERGE', '{h}dst', '{h}1'],
    ['GET', '{h}dst'],
    ['PFCOUNT', '{h}dst'],
    // With no sources, and from missing keys only.
    ['PFMERGE', '{h}only'],
    ['GET', '{h}only'],
    ['PFMERGE', '{h}only2', '{h}nope1', '{h}nope2'],
    ['GET', '{h}only2'],
    ['PFCOUNT', '{h}only2'],
    // A dense source makes the destination dense.
    ['PFADD', '{h}big', ...elements('b', 0, 3000)],
    ['STRLEN', '{h}big'],
    ['PFMERGE', '{h}m', '{h}1', '{h}big'],
    ['STRLEN', '{h}m'],
    ['PFCOUNT', '{h}m'],
    ['GET', '{h}m'],
    ['PFCOUNT', '{h}1', '{h}big', '{h}2'],
    // Many sparse sources whose union outgrows the sparse limit.
    ['PFADD', '{h}s1', ...elements('s', 0, 900)],
    ['PFADD', '{h}s2', ...elements('s', 900, 1800)],
    ['STRLEN', '{h}s1'],
    ['STRLEN', '{h}s2'],
    ['PFMERGE', '{h}s3', '{h}s1', '{h}s2'],
    ['STRLEN', '{h}s3'],
    ['GET', '{h}s3'],
    ['PFMERGE', '{h}s1', '{h}s1'],
    ['GET', '{h}s1'],
    // The destination keeps its TTL.
    ['PFADD', '{h}t', 'a'],
    ['EXPIRE', '{h}t', '1000'],
    ['PFMERGE', '{h}t', '{h}2'],
    ['TTL', '{h}t'],
    ['GET', '{h}t'],
  ]),

  script('hyperloglog: corrupted values', [
    // hyperloglog.tcl "Corrupted sparse HyperLogLogs are detected: Additional at tail"
    ['PFADD', 'c1', 'a', 'b', 'c'],
    ['APPEND', 'c1', 'hello'],
    ['PFCOUNT', 'c1'],
    ['PFADD', 'c1', 'x'],
    ['GET', 'c1'],
    // VAL opcodes past the last register (fuzz seed 21): merging refuses them, before the
    // type of a later key is checked.
    ['PFADD', '{c8}', 'a', 'b', 'c'],
    ['APPEND', '{c8}', '\x80\x80\x80'],
    ['SET', '{c8}s', 'hello world'],
    ['PFMERGE', '{c8}d', '{c8}'],
    ['PFMERGE', '{c8}', '{c8}s', '{c8}'],
    ['PFCOUNT', '{c8}', '{c8}s'],
    ['PFCOUNT', '{c8}s', '{c8}'],
    // "... Broken magic"
    ['PFADD', 'c2', 'a', 'b', 'c'],
    ['SETRANGE', 'c2', '0', '0123'],
    ['PFCOUNT', 'c2'],
    ['PFADD', 'c2', 'a'],
    // "... Invalid encoding"
    ['PFADD', 'c3', 'a', 'b', 'c'],
    ['SETRANGE', 'c3', '4', 'x'],
    ['PFCOUNT', 'c3'],
    // "Corrupted dense HyperLogLogs are detected: Wrong length"
    ['PFADD', 'c4', 'a', 'b', 'c'],
    ['SETRANGE', 'c4', '4', '\0'],
    ['PFCOUNT', 'c4'],
    ['PFADD', 'c4', 'a'],
    // Headers alone, too short, empty.
    ['SET', 'c5', 'HYLL'],
    ['PFCOUNT', 'c5'],
    ['SET', 'c5', hll(1, [])],
    ['PFCOUNT', 'c5'],
    ['PFADD', 'c5', 'a'],
    ['SET', 'c5', hll(1, [], STALE)],
    ['PFCOUNT', 'c5'],
    ['PFADD', 'c5', 'a'],
    ['SET', 'c5', ''],
    ['PFCOUNT', 'c5'],
    ['SET', 'c5', '12345'],
    ['PFADD', 'c5', 'a'],
    // A valid cache on a value is returned as is, whatever the registers say.
    ['SET', 'c6', hll(1, [0x7f, 0xff], [42, 0, 0, 0, 0, 0, 0, 0])],
    ['PFCOUNT', 'c6'],
    ['SET', 'c6', hll(0, Buffer.alloc(12288), [1, 2, 3, 4, 5, 6, 7, 0x7f])],
    ['PFCOUNT', 'c6'],
    // Too many registers: counting fails, but an update of an early register works.
    ['SET', 'c7', hll(1, [0x7f, 0xff, 0x7f, 0xff], STALE)],
    ['PFCOUNT', 'c7'],
    ['PFADD', 'c7', 'a', 'b', 'c'],
    ['GET', 'c7'],
    ['PFCOUNT', 'c7'],
    // Too few registers: elements hashing past the end fail after earlier ones applied.
    ['SET', 'c8', hll(1, [0x60, 0x00], STALE)],
    ['PFCOUNT', 'c8'],
    ['PFADD', 'c8', ...elements('e', 0, 20)],
    ['GET', 'c8'],
    // A truncated XZERO reads the terminator as its second byte.
    ['SET', 'c9', hll(1, [0x7f], STALE)],
    ['PFCOUNT', 'c9'],
    ['PFADD', 'c9', 'a'],
    ['GET', 'c9'],
    ['SET', 'c9', hll(1, [0x80, 0x7f], STALE)],
    ['PFADD', 'c9', 'a', 'b'],
    ['GET', 'c9'],
    // VAL runs past the last register.
    ['SET', 'c10', hll(1, [0x7f, 0xfe, 0x83], STALE)],
    ['PFCOUNT', 'c10'],
    ['PFADD', 'c10', 'a'],
    ['GET', 'c10'],
    // Corrupted inputs of PFCOUNT of several keys and PFMERGE.
    ['SET', '{h}bad', hll(1, [0x7f, 0xff, 0x00], STALE)],
    ['PFADD', '{h}good', 'a'],
    ['PFCOUNT', '{h}good', '{h}bad'],
    ['PFMERGE', '{h}good', '{h}bad'],
    ['PFMERGE', '{h}new', '{h}good', '{h}bad'],
    ['EXISTS', '{h}new'],
    ['GET', '{h}good'],
    // A dense value of the wrong length is not an HLL at all.
    ['SET', '{h}short', hll(0, Buffer.alloc(100))],
    ['PFCOUNT', '{h}good', '{h}short'],
    ['PFMERGE', '{h}good', '{h}short'],
    ['SET', '{h}long', hll(0, Buffer.alloc(DENSE_SIZE - 15))],
    ['PFCOUNT', '{h}long'],
  ]),

  script('hyperloglog: type checks and arity', [
    // hyperloglog.tcl "PFADD, PFCOUNT, PFMERGE type checking works"
    ['SET', '{h}foo', 'bar'],
    ['PFADD', '{h}foo', '1'],
    ['PFCOUNT', '{h}foo'],
    ['PFMERGE', '{h}bar', '{h}foo'],
    ['PFMERGE', '{h}foo', '{h}bar'],
    ['EXISTS', '{h}bar'],
    ['HSET', '{h}hash', 'f', 'v'],
    ['PFADD', '{h}hash', 'a'],
    ['PFADD', '{h}hash'],
    ['PFCOUNT', '{h}hash'],
    ['PFCOUNT', '{h}hash', '{h}foo'],
    ['PFCOUNT', '{h}foo', '{h}hash'],
    ['PFMERGE', '{h}x', '{h}hash'],
    ['PFMERGE', '{h}hash', '{h}x'],
    ['SADD', '{h}set', 'a'],
    ['PFADD', '{h}set', 'a'],
    ['PFCOUNT', '{h}set'],
    ['PFMERGE', '{h}set'],
    ['PFMERGE', '{h}y', '{h}set'],
    ['EXISTS', '{h}x', '{h}y'],
    ['TYPE', '{h}set'],
    // Arity.
    ['PFADD'],
    ['PFCOUNT'],
    ['PFMERGE'],
    ['pfadd'],
    ['PfCount'],
  ]),

  script('hyperloglog: seeded random sequence', randomScript(0x4c4c5948, 400)),
];
