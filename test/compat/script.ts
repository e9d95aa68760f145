/**
 * The vocabulary of compatibility scripts.
 *
 * A script is a named list of steps run on ONE connection against both a real redis-server
 * and the server under test; the runner sends FLUSHALL first. Each step says how the two
 * raw replies are compared. The default is byte equality; the other modes exist only where
 * Redis itself is not deterministic or the value is legitimately server-specific:
 *
 * - 'exact'        byte-for-byte equal (default).
 * - 'unordered'    an aggregate compared as a multiset of its elements (map: of its
 *                  key/value pairs) — for replies in hash-table order: KEYS, multi-key
 *                  CONFIG GET.
 * - 'ttl'          integer replies equal within one second (±1 for second-resolution
 *                  commands, ±1000 for millisecond ones); negatives (-1, -2) exact — for
 *                  remaining-time replies, which depend on when each server got the step.
 * - 'skip-value'   same shape (types and aggregate sizes, recursively) but any leaf values —
 *                  for TIME, CLIENT ID, CLIENT INFO, COMMAND COUNT. With `vary`, the reply
 *                  must be a map (or RESP2 flat key/value array) that is exact except for
 *                  the values of the listed keys, whose type must still match (HELLO); an
 *                  array of maps (ACL LOG) is compared map by map so.
 * - 'error-prefix' both replies are errors with the same first word — for errors whose text
 *                  legitimately embeds server-specific detail. No current script needs it.
 * - 'unordered-pairs' an aggregate of field/value pairs compared as a multiset of pairs: a
 *                  map's key/value pairs, a flat array taken two elements at a time (RESP2
 *                  HGETALL, HRANDFIELD WITHVALUES), or an array whose elements are all
 *                  aggregates, each one pair (RESP3 HRANDFIELD WITHVALUES) — for replies in
 *                  hash order where plain 'unordered' would not keep a value with its field.
 * - 'member-of'    for random picks (HRANDFIELD): the two replies must have the same shape
 *                  (as 'skip-value'), and EACH reply on its own must be made only of
 *                  `members` — a bulk reply is one element, an array's (or a RESP3
 *                  set's) bulks are elements, and when the members are [field, value]
 *                  pairs an array is read as pairs (flat, or one 2-element array per pair).
 *                  With `distinct`, no element may repeat within a reply (positive counts).
 *
 * Other step kinds: 'scan-all' iterates SCAN to cursor 0 and compares the sorted set of
 * keys seen (cursors and batching are implementation details); 'hscan-all' does the same
 * with HSCAN over one key and compares the sorted set of field/value pairs seen (an error
 * reply, e.g. WRONGTYPE or a bad option, is compared as is); 'sscan-all' likewise with
 * SSCAN and the sorted set of members seen; 'raw' writes arbitrary bytes
 * (inline commands, malformed RESP) and compares the replies and whether the server then
 * closed the connection.
 */

export type Arg = string | Buffer;
export type Mode = 'exact' | 'unordered' | 'ttl' | 'skip-value' | 'error-prefix' | 'unordered-pairs' | 'member-of';
/** What must hold for the connection after a step; checked on BOTH servers. */
export type After = 'open' | 'closed';

export interface CommandStep {
  kind: 'command';
  args: Arg[];
  mode: Mode;
  /** 'ttl' mode: allowed absolute difference. */
  tolerance?: number;
  /** 'skip-value' mode: map keys whose values may differ. */
  vary?: string[];
  /** Set only for commands that end the connection (QUIT). */
  after?: 'closed';
  /** 'member-of' mode: the allowed elements, each a 1-tuple (field) or a 2-tuple (field, value). */
  members?: Buffer[][];
  /** 'member-of' mode: no element may occur twice in one reply. */
  distinct?: boolean;
}

export interface ScanAllStep {
  kind: 'scan-all';
  /** SCAN options after the cursor: MATCH p, COUNT n, TYPE t. */
  options: Arg[];
}

export interface RawStep {
  kind: 'raw';
  /** Bytes to write; several pieces are written as separate writes. */
  pieces: Buffer[];
  /** How many reply frames to collect (fewer if the server closes). */
  replies: number;
  /** 'open' is proven by a PING that must answer +PONG; 'closed' by the server hanging up. */
  after: After;
}

export interface HScanAllStep {
  kind: 'hscan-all';
  key: Arg;
  /** HSCAN options after the cursor: MATCH p, COUNT n. */
  options: Arg[];
  /** The scan command: HSCAN unless ZSCAN (member/score pairs) is named. */
  command?: 'HSCAN' | 'ZSCAN';
}

export interface SScanAllStep {
  kind: 'sscan-all';
  key: Arg;
  /** SSCAN options after the cursor: MATCH p, COUNT n. */
  options: Arg[];
}

export type Step = (CommandStep | ScanAllStep | HScanAllStep | SScanAllStep | RawStep) & { note?: string };

export interface Script {
  name: string;
  steps: Step[];
}

/** A step written as a bare argv array means an exact command step. */
export type StepInput = Arg[] | Step;

export function script(name: string, steps: StepInput[]): Script {
  return { name, steps: steps.map((s) => (Array.isArray(s) ? cmd(...s) : s)) };
}

export function cmd(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'exact' };
}

export function unordered(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'unordered' };
}

/** Remaining/absolute time replies; the tolerance is one second in the command's unit. */
export function ttl(...args: Arg[]): CommandStep {
  const name = String(args[0]).toUpperCase();
  const millis = name === 'PTTL' || name === 'PEXPIRETIME';
  return { kind: 'command', args, mode: 'ttl', tolerance: millis ? 1000 : 1 };
}

export function skipValue(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'skip-value' };
}

/** Exact map reply except for the values under `vary` (type still checked). */
export function varying(vary: string[], ...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'skip-value', vary };
}

/** A flat field/value array or map in hash order: compared as a multiset of pairs. */
export function unorderedPairs(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'unordered-pairs' };
}

/** An element: a field, or a [field, value] pair. */
export type Member = Arg | readonly [Arg, Arg];

function toMembers(members: ReadonlyArray<Member>): Buffer[][] {
  const buf = (a: Arg): Buffer => (typeof a === 'string' ? Buffer.from(a) : a);
  const list = members.map((m) => (Array.isArray(m) ? (m as readonly [Arg, Arg]).map(buf) : [buf(m as Arg)]));
  if (list.some((m) => m.length !== list[0].length)) throw new Error('members must be all fields or all pairs');
  return list;
}

/** A random pick: each reply must consist of `members` only (repeats allowed), same shape. */
export function memberOf(members: ReadonlyArray<Member>, ...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'member-of', members: toMembers(members) };
}

/** A random pick without repeats: each reply must consist of distinct `members`, same shape. */
export function distinctOf(members: ReadonlyArray<Member>, ...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'member-of', members: toMembers(members), distinct: true };
}

export function errorPrefix(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'error-prefix' };
}

/** A command after which the server must close the connection (QUIT). */
export function closing(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'exact', after: 'closed' };
}

export function scanAll(...options: Arg[]): ScanAllStep {
  return { kind: 'scan-all', options };
}

/** HSCAN `key` from cursor 0 to 0 with `options`; compares the set of field/value pairs seen. */
export function hscanAll(key: Arg, ...options: Arg[]): HScanAllStep {
  return { kind: 'hscan-all', key, options };
}

/** SSCAN `key` from cursor 0 to 0 with `options`; compares the set of members seen. */
/** ZSCAN `key` from cursor 0 to 0 with `options`; compares the set of member/score pairs seen. */
export function zscanAll(key: Arg, ...options: Arg[]): HScanAllStep {
  return { kind: 'hscan-all', key, options, command: 'ZSCAN' };
}

export function sscanAll(key: Arg, ...options: Arg[]): SScanAllStep {
  return { kind: 'sscan-all', key, options };
}

/** Raw bytes; strings are taken as latin1 so '\xff' is the byte 0xff. */
export function raw(
  bytes: string | Buffer | Array<string | Buffer>,
  opts: { replies?: number; after?: After } = {},
): RawStep {
  const list = Array.isArray(bytes) ? bytes : [bytes];
  return {
    kind: 'raw',
    pieces: list.map((b) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : b)),
    replies: opts.replies ?? 1,
    after: opts.after ?? 'open',
  };
}

/** Attach a note shown in failure messages. */
export function note<S extends Step>(text: string, step: S): S {
  return { ...step, note: text };
}

/** Every byte value 0x00..0xff once. */
export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
