/**
 * Stream commands, ported from Redis 7.0.15 t_stream.c: the same order of checks, replies
 * and error texts. XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XREAD, XREADGROUP, XGROUP
 * (CREATE, CREATECONSUMER, DELCONSUMER, DESTROY, SETID, HELP), XACK, XPENDING, XCLAIM,
 * XAUTOCLAIM, XINFO (STREAM [FULL], GROUPS, CONSUMERS, HELP), XSETID.
 *
 * Storage (storage/stream-layout.ts): one cell per entry keyed by its 16-byte big-endian ID,
 * so XRANGE is a range scan; the stream's state (last ID, entries added, max deleted ID,
 * first ID, length), each group, each pending entry and each consumer are cells too, so a
 * replica, a hint, anti-entropy and a range transfer carry them like any other cell. Every
 * write builds one delta of cells at one stamp. The length is the key's live cell count
 * minus its non-entry cells (StreamCounts), so XLEN and XADD never scan the entries.
 *
 * XREAD and XREADGROUP: `parseXRead` parses (and resolves `$` at call time, checks groups),
 * `serveXRead` writes the reply and returns true, or returns false when there is nothing
 * to return; the blocking infrastructure calls `serveXRead` again when the key changes.
 *
 * Differences from Redis (docs/commands.md, "Streams"):
 * - `~` trimming removes whole "nodes" of 100 entries counted from the first entry (Redis:
 *   radix-tree nodes of stream-node-max-entries 100 or 4096 bytes); for small entries added
 *   in order this is what Redis does, otherwise it may keep a different number of entries.
 *   XINFO STREAM's radix-tree-keys and radix-tree-nodes are estimates from the length.
 * - XPENDING, XINFO GROUPS/CONSUMERS and a consumer's history (XREADGROUP with an ID) scan
 *   the group's pending entries (Redis keeps a per-consumer PEL as well).
 */
import { timeoutOf, waitOn } from './blocking';
import { E, cString } from './errors';
import { helpReply, optIs } from './args';
import { collectionDelta } from './collection-write';
import type { CommandContext, CommandSpec } from './types';
import type { StoredMeta } from '../storage/meta';
import type { DeltaCell } from '../storage/delta';
import { CELL_FIELD } from '../storage/layout';
import { parseInt64 } from '../util/numbers';
import {
  MAX_ID, P_CONSUMER, P_ENTRY, P_GROUP, P_PEL, STATE_FIELD, U64_MAX, ZERO_ID,
  compareIds, consumerField, decodeConsumer, decodeEntry, decodeGroup, decodePending, decodeState, decrId,
  emptyState, encodeConsumer, encodeEntry, encodeGroup, encodePending, encodeState, entryField, entryIdOf,
  formatId, groupField, groupScoped, incrId, isZeroId, pelField, pelIdOf,
  StreamCounts, type GroupState, type Pending, type StreamId, type StreamState,
} from '../storage/stream-layout';

const F = CELL_FIELD;
const ONE_KEY = { first: 1, last: 1, step: 1 } as const;
const KEY2 = { first: 2, last: 2, step: 1 } as const;
const NO_KEYS = { first: 0, last: 0, step: 0 } as const;
/** Redis stream-node-max-entries: the "node" `~` trimming removes whole. */
const NODE_ENTRIES = 100;
const INVALID_READ = -1n;

/** Stream error texts (Redis 7.0.15 t_stream.c). */
const SE = {
  invalidId: 'ERR Invalid stream ID specified as stream command argument',
  xaddZero: 'ERR The ID specified in XADD must be greater than 0-0',
  xaddSmaller: 'ERR The ID specified in XADD is equal or smaller than the target stream top item',
  tooLarge: 'ERR Elements are too large to be stored',
  exhausted: 'ERR The stream has exhausted the last possible ID, unable to add more items',
  maxlenNegative: 'ERR The MAXLEN argument must be >= 0.',
  limitNegative: 'ERR The LIMIT argument must be >= 0.',
  maxlenAndMinid: 'ERR syntax error, MAXLEN and MINID options at the same time are not compatible',
  limitNoStrategy: 'ERR syntax error, LIMIT cannot be used without specifying a trimming strategy',
  xtrimNoStrategy: 'ERR syntax error, XTRIM must be called with a trimming strategy',
  limitNoApprox: 'ERR syntax error, LIMIT cannot be used without the special ~ option',
  startInterval: 'ERR invalid start ID for the interval',
  endInterval: 'ERR invalid end ID for the interval',
  timeoutNotInt: 'ERR timeout is not an integer or out of range',
  timeoutNegative: 'ERR timeout is negative',
  groupOnlyXreadgroup: 'ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.',
  noackOnlyXreadgroup: 'ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.',
  missingGroup: 'ERR Missing GROUP option for XREADGROUP',
  dollarInGroup:
    'ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.',
  gtOnlyGroup: 'ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.',
  unbalanced: "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
  keyRequired:
    'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.',
  busyGroup: 'BUSYGROUP Consumer Group name already exists',
  entriesReadRange: 'ERR value for ENTRIESREAD must be positive or -1',
  subcommandSyntax: (sub: Buffer, cmd: string) => `ERR unknown subcommand or wrong number of arguments for '${cString(sub).slice(0, 128)}'. Try ${cmd} HELP.`,
  noGroupFor: (group: Buffer, key: Buffer) => `NOGROUP No such consumer group '${cString(group)}' for key name '${cString(key)}'`,
  noKeyOrGroup: (key: Buffer, group: Buffer) => `NOGROUP No such key '${cString(key)}' or consumer group '${cString(group)}'`,
  noKeyOrGroupRead: (key: Buffer, group: Buffer) => `NOGROUP No such key '${cString(key)}' or consumer group '${cString(group)}' in XREADGROUP with GROUP option`,
  groupGone: 'NOGROUP the consumer group this client was blocked on no longer exists',
  minIdle: (cmd: string) => `ERR Invalid min-idle-time argument for ${cmd}`,
  claimOpt: (opt: string) => `ERR Invalid ${opt} option argument for XCLAIM`,
  claimUnknown: (opt: Buffer) => `ERR Unrecognized XCLAIM option '${cString(opt)}'`,
  countPositive: 'ERR COUNT must be > 0',
  entriesAddedPositive: 'ERR entries_added must be positive',
  setidSmallerDeleted: 'ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id',
  setidSmallerTop: 'ERR The ID specified in XSETID is smaller than the target stream top item',
  setidAddedSmaller: 'ERR The entries_added specified in XSETID is smaller than the target stream length',
} as const;

// ---------------------------------------------------------------------------------------
// Numbers and IDs

/** Redis getLongLongFromObject: a strict int64, as a bigint. */
function ll(arg: Buffer): bigint | null {
  const n = parseInt64(arg);
  return n === null ? null : BigInt(n);
}

/** getLongLongFromObjectOrReply: the value, or null after replying `msg`. */
function llOrReply(ctx: CommandContext, arg: Buffer, msg: string = E.notInteger): bigint | null {
  const n = ll(arg);
  if (n === null) ctx.reply.error(msg);
  return n;
}

const STRING2LL = /^(?:0|-?[1-9][0-9]*)$/;
const STRTOULL = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Redis string2ull: string2ll first (a negative fails), then C strtoull (base 10). */
function string2ull(s: string): bigint | null {
  if (STRING2LL.test(s)) {
    const v = BigInt(s);
    if (v >= INT64_MIN && v <= INT64_MAX) return v < 0n ? null : v;
  }
  const m = STRTOULL.exec(s);
  if (m === null) return null;
  const v = BigInt(m[2]);
  if (v > U64_MAX) return null;
  return m[1] === '-' ? ((1n << 64n) - v) & U64_MAX : v;
}

interface ParsedId {
  id: StreamId;
  /** False for `<ms>-*` (XADD only). */
  seqGiven: boolean;
}

/**
 * Redis streamGenericParseIDOrReply without the reply: `-` and `+` (unless strict), `<ms>`
 * (sequence `missingSeq`), `<ms>-<seq>`, and with `starSeq` `<ms>-*`.
 */
function parseId(arg: Buffer, missingSeq: bigint, strict: boolean, starSeq = false): ParsedId | null {
  if (arg.length > 127) return null;
  const s = arg.toString('latin1');
  if (s === '-' || s === '+') {
    if (strict) return null;
    return { id: s === '-' ? ZERO_ID : MAX_ID, seqGiven: true };
  }
  const dash = s.indexOf('-');
  if (dash < 0) {
    const ms = string2ull(s);
    return ms === null ? null : { id: { ms, seq: missingSeq }, seqGiven: true };
  }
  const ms = string2ull(s.slice(0, dash));
  if (ms === null) return null;
  const rest = s.slice(dash + 1);
  if (starSeq && rest === '*') return { id: { ms, seq: 0n }, seqGiven: false };
  const seq = string2ull(rest);
  return seq === null ? null : { id: { ms, seq }, seqGiven: true };
}

function idOrReply(ctx: CommandContext, arg: Buffer, missingSeq: bigint, strict: boolean): StreamId | null {
  const p = parseId(arg, missingSeq, strict);
  if (p === null) ctx.reply.error(SE.invalidId);
  return p === null ? null : p.id;
}

/** streamParseIntervalIDOrReply: a `(` prefix makes it exclusive. */
function intervalId(ctx: CommandContext, arg: Buffer, missingSeq: bigint): { id: StreamId; exclusive: boolean } | null {
  if (arg.length > 1 && arg[0] === 0x28) {
    const id = idOrReply(ctx, arg.subarray(1), missingSeq, true);
    return id === null ? null : { id, exclusive: true };
  }
  const id = idOrReply(ctx, arg, missingSeq, false);
  return id === null ? null : { id, exclusive: false };
}

/** Start (inclusive) of an interval argument, or null after replying. */
function startOf(ctx: CommandContext, arg: Buffer): StreamId | null {
  const p = intervalId(ctx, arg, 0n);
  if (p === null) return null;
  if (!p.exclusive) return p.id;
  const id = incrId(p.id);
  if (id === null) ctx.reply.error(SE.startInterval);
  return id;
}

function endOf(ctx: CommandContext, arg: Buffer): StreamId | null {
  const p = intervalId(ctx, arg, U64_MAX);
  if (p === null) return null;
  if (!p.exclusive) return p.id;
  const id = decrId(p.id);
  if (id === null) ctx.reply.error(SE.endInterval);
  return id;
}

function isWord(arg: Buffer, c: number): boolean {
  return arg.length >= 1 && arg[0] === c && (arg.length === 1 || arg[1] === 0);
}

// ---------------------------------------------------------------------------------------
// Reading a stream

/** The live stream at `key`, null if absent, undefined after WRONGTYPE. */
function streamOf(ctx: CommandContext, key: Buffer): StoredMeta | null | undefined {
  const m = ctx.db.lookup(key, ctx.nowMs);
  if (m === null) return null;
  if (m.type !== 'stream') {
    ctx.reply.error(E.wrongType);
    return undefined;
  }
  return m;
}

function stateOf(ctx: CommandContext, key: Buffer, m: StoredMeta | null): StreamState {
  if (m === null) return emptyState();
  const v = ctx.db.cellValue(key, m, F, STATE_FIELD);
  const length = m.count - countsOf(ctx, key, m).nonEntry;
  return v === null ? { ...emptyState(), length } : decodeState(v, length);
}

/** The cached stream's derived counts (stream-layout.ts StreamCounts), built by scans when missing. */
function countsOf(ctx: CommandContext, key: Buffer, m: StoredMeta): StreamCounts {
  if (m.observer instanceof StreamCounts) return m.observer;
  let n = 0;
  // Every cell but the entries: those sorting before 'E' ('C'onsumers) and after them.
  ctx.db.scanCells(key, m, F, (c) => {
    if (c.field.length > 0 && c.field[0] >= P_ENTRY) return false;
    n++;
    return true;
  });
  ctx.db.scanCells(key, m, F, () => {
    n++;
    return true;
  }, AFTER_ENTRIES);
  let max: Buffer | null = null;
  scanPrefix(ctx, key, m, ENTRY_PREFIX, (f) => {
    max = Buffer.from(f);
    return false;
  }, entryField(MAX_ID), true);
  const counts = new StreamCounts(n, max);
  m.observer = counts;
  return counts;
}

/**
 * The ID a new entry must follow: the state's last ID, or a greater entry this replica holds
 * (after a merge of two primaries the surviving state cell may be the other side's).
 */
function lastIdOf(ctx: CommandContext, key: Buffer, m: StoredMeta | null, st: StreamState): StreamId {
  if (m === null) return st.last;
  const max = countsOf(ctx, key, m).maxEntry;
  if (max === null) return st.last;
  const id = entryIdOf(max)!;
  // Only a live entry counts: XSETID may have set the last ID below a deleted one.
  return compareIds(id, st.last) > 0 && ctx.db.cellValue(key, m, F, max) !== null ? id : st.last;
}

const AFTER_ENTRIES = Buffer.from([P_ENTRY + 1]);

function groupOf(ctx: CommandContext, key: Buffer, m: StoredMeta, name: Buffer): GroupState | null {
  const v = ctx.db.cellValue(key, m, F, groupField(name));
  return v === null ? null : decodeGroup(v);
}

function startsWith(b: Buffer, prefix: Buffer): boolean {
  return b.length >= prefix.length && b.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** Visit the cells whose field starts with `prefix`, from `from` (inclusive) on. */
function scanPrefix(ctx: CommandContext, key: Buffer, m: StoredMeta, prefix: Buffer, visit: (field: Buffer, value: Buffer) => boolean, from: Buffer = prefix, reverse = false): void {
  ctx.db.scanCells(key, m, F, (c) => (startsWith(c.field, prefix) ? visit(c.field, c.value as Buffer) : false), from, reverse);
}

const ENTRY_PREFIX = Buffer.from([P_ENTRY]);

/**
 * Visit the entries with start <= ID <= end in ID order (`rev`: from end down), at most
 * `count` (0: all). Starts at the stream's first ID, so a scan never walks the deletions
 * before it.
 */
function scanEntries(ctx: CommandContext, key: Buffer, m: StoredMeta, st: StreamState, start: StreamId, end: StreamId, rev: boolean, visit: (id: StreamId, value: Buffer) => boolean): void {
  if (st.length === 0 || compareIds(start, end) > 0) return;
  if (!rev) {
    const from = compareIds(start, st.first) < 0 ? st.first : start;
    scanPrefix(ctx, key, m, ENTRY_PREFIX, (f, v) => {
      const id = entryIdOf(f)!;
      if (compareIds(id, end) > 0) return false;
      return visit(id, v);
    }, entryField(from));
  } else {
    const to = compareIds(end, st.last) > 0 ? st.last : end;
    scanPrefix(ctx, key, m, ENTRY_PREFIX, (f, v) => {
      const id = entryIdOf(f)!;
      if (compareIds(id, start) < 0) return false;
      return visit(id, v);
    }, entryField(to), true);
  }
}

function replyId(ctx: CommandContext, id: StreamId): void {
  ctx.reply.bulkString(formatId(id));
}

function replyEntry(ctx: CommandContext, id: StreamId, value: Buffer): void {
  const r = ctx.reply;
  r.array(2);
  replyId(ctx, id);
  const items = decodeEntry(value);
  r.array(items.length);
  for (const b of items) r.bulk(b);
}

/** Entries of [start, end] as an array (Redis streamReplyWithRange without a group). */
function replyRange(ctx: CommandContext, key: Buffer, m: StoredMeta, st: StreamState, start: StreamId, end: StreamId, count: number, rev: boolean): number {
  const out: { id: StreamId; v: Buffer }[] = [];
  scanEntries(ctx, key, m, st, start, end, rev, (id, v) => {
    out.push({ id, v });
    return count === 0 || out.length < count;
  });
  ctx.reply.array(out.length);
  for (const e of out) replyEntry(ctx, e.id, e.v);
  return out.length;
}

function entryValue(ctx: CommandContext, key: Buffer, m: StoredMeta, id: StreamId): Buffer | null {
  return ctx.db.cellValue(key, m, F, entryField(id));
}

/** The first live entry at or after `from`, or ZERO_ID. */
function firstFrom(ctx: CommandContext, key: Buffer, m: StoredMeta, from: StreamId): StreamId {
  let found: StreamId = ZERO_ID;
  scanPrefix(ctx, key, m, ENTRY_PREFIX, (f) => {
    found = entryIdOf(f)!;
    return false;
  }, entryField(from));
  return found;
}

/** The last live entry (Redis streamLastValidID), or ZERO_ID. */
function lastEntry(ctx: CommandContext, key: Buffer, m: StoredMeta, st: StreamState): { id: StreamId; v: Buffer } | null {
  let found: { id: StreamId; v: Buffer } | null = null;
  if (st.length === 0) return null;
  scanEntries(ctx, key, m, st, ZERO_ID, MAX_ID, true, (id, v) => {
    found = { id, v };
    return false;
  });
  return found;
}

interface PelItem {
  id: StreamId;
  field: Buffer;
  p: Pending;
}

/** A group's pending entries from `from` on, in ID order, while `visit` returns true. */
function scanPel(ctx: CommandContext, key: Buffer, m: StoredMeta, group: Buffer, from: StreamId | null, visit: (it: PelItem) => boolean): void {
  const prefix = groupScoped(P_PEL, group);
  scanPrefix(ctx, key, m, prefix, (f, v) => visit({ id: pelIdOf(f), field: f, p: decodePending(v) }), from === null ? prefix : pelField(group, from));
}

/** A group's consumers in name order. */
function consumersOf(ctx: CommandContext, key: Buffer, m: StoredMeta, group: Buffer): { name: Buffer; seenMs: number; activeMs: number }[] {
  const prefix = groupScoped(P_CONSUMER, group);
  const out: { name: Buffer; seenMs: number; activeMs: number }[] = [];
  scanPrefix(ctx, key, m, prefix, (f, v) => {
    out.push({ name: f.subarray(prefix.length), ...decodeConsumer(v) });
    return true;
  });
  return out;
}

/** Groups in name order. */
function groupsOf(ctx: CommandContext, key: Buffer, m: StoredMeta): { name: Buffer; g: GroupState }[] {
  const prefix = Buffer.from([P_GROUP]);
  const out: { name: Buffer; g: GroupState }[] = [];
  scanPrefix(ctx, key, m, prefix, (f, v) => {
    out.push({ name: f.subarray(1), g: decodeGroup(v) });
    return true;
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Writing a stream: the cells of one command, at one stamp

class StreamWrite {
  readonly cells: DeltaCell[] = [];
  private readonly byField = new Map<string, DeltaCell>();
  private t = 0;
  private n = 0;

  constructor(
    private readonly ctx: CommandContext,
    private readonly key: Buffer,
    private readonly m: StoredMeta | null,
  ) {}

  put(field: Buffer, value: Buffer | null): void {
    if (this.t === 0) {
      const s = this.ctx.db.stamp();
      this.t = s.t;
      this.n = s.n;
    }
    const id = field.toString('latin1');
    const have = this.byField.get(id);
    if (have !== undefined) {
      have.value = value;
      return;
    }
    const c: DeltaCell = { kind: F, field, t: this.t, n: this.n, value };
    this.byField.set(id, c);
    this.cells.push(c);
  }

  state(st: StreamState): void {
    this.put(STATE_FIELD, encodeState(st));
  }

  group(name: Buffer, g: GroupState): void {
    this.put(groupField(name), encodeGroup(g));
  }

  commit(): void {
    if (this.cells.length === 0) return;
    this.ctx.db.apply(this.key, collectionDelta(this.ctx, this.key, 'stream', this.m, this.cells), this.ctx.nowMs);
    if (this.m === null) {
      // A new stream: every live cell is one of these (a tombstone at their stamp cleared
      // any earlier life), so its non-entry count is known without a scan.
      const created = this.ctx.db.ks.meta(this.ctx.db.index, this.key);
      if (created.observer === null) {
        let n = 0;
        let max: Buffer | null = null;
        for (const c of this.cells) {
          if (c.value === null) continue;
          if (c.field[0] !== P_ENTRY) n++;
          else if (max === null || Buffer.compare(c.field, max) > 0) max = Buffer.from(c.field);
        }
        created.observer = new StreamCounts(n, max);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Trimming (XADD MAXLEN/MINID, XTRIM)

interface TrimArgs {
  strategy: 'none' | 'maxlen' | 'minid';
  maxlen: number;
  minid: StreamId;
  approx: boolean;
  /** 0: no limit. */
  limit: number;
}

/** Redis streamTrim: delete entries from the head; returns how many. Updates `st`. */
function trimStream(ctx: CommandContext, key: Buffer, m: StoredMeta | null, st: StreamState, w: StreamWrite, a: TrimArgs, added: StreamId | null): number {
  if (a.strategy === 'none' || st.length === 0) return 0;
  if (a.strategy === 'maxlen' && st.length <= a.maxlen) return 0;
  const del: StreamId[] = [];
  const gone = (ids: StreamId[]): boolean => {
    // Whole-node removal test (approx), or one entry (exact).
    if (a.strategy === 'maxlen') return st.length - del.length - ids.length >= a.maxlen;
    return compareIds(ids[ids.length - 1], a.minid) < 0;
  };
  const ids: StreamId[] = [];
  const visit = (id: StreamId): boolean => {
    ids.push(id);
    return true;
  };
  // The entry XADD just wrote is not in the engine yet: it is the newest, so it comes last.
  if (m !== null) {
    const want = a.strategy === 'maxlen' ? st.length - a.maxlen + (a.approx ? NODE_ENTRIES : 1) : 0;
    scanEntries(ctx, key, m, st, ZERO_ID, MAX_ID, false, (id) => {
      if (added !== null && compareIds(id, added) >= 0) return false;
      visit(id);
      if (a.strategy === 'maxlen') return ids.length < want;
      return compareIds(id, a.minid) < 0 || (a.approx && ids.length % NODE_ENTRIES !== 0);
    });
  }
  if (added !== null && (ids.length === 0 || compareIds(ids[ids.length - 1], added) < 0)) ids.push(added);
  if (!a.approx) {
    for (const id of ids) {
      if (a.strategy === 'maxlen' ? st.length - del.length <= a.maxlen : compareIds(id, a.minid) >= 0) break;
      del.push(id);
    }
  } else {
    for (let i = 0; i < ids.length; i += NODE_ENTRIES) {
      const node = ids.slice(i, i + NODE_ENTRIES);
      // A node is full unless it is the stream's last one.
      if (node.length < NODE_ENTRIES && i + node.length < st.length) break;
      if (a.strategy === 'maxlen' && st.length - del.length <= a.maxlen) break;
      if (a.limit !== 0 && del.length + node.length > a.limit) break;
      if (!gone(node)) break;
      del.push(...node);
    }
  }
  if (del.length === 0) return 0;
  for (const id of del) w.put(entryField(id), null);
  st.length -= del.length;
  if (st.length === 0) st.first = ZERO_ID;
  else {
    const after = incrId(del[del.length - 1])!;
    const next = ids.find((id) => compareIds(id, after) >= 0);
    st.first = next ?? (m === null ? ZERO_ID : firstFrom(ctx, key, m, after));
  }
  return del.length;
}

/** MAXLEN/MINID's optional `=` or `~` after the option at argv[i]: sets `approx`, returns where the value's index is minus one. */
function trimOperator(argv: Buffer[], i: number, moreargs: number, out: { approx: boolean }): number {
  out.approx = false;
  if (moreargs < 2) return i;
  const next = argv[i + 1];
  if (isWord(next, 0x7e)) {
    out.approx = true;
    return i + 1;
  }
  return isWord(next, 0x3d) ? i + 1 : i;
}

/** Redis streamParseAddOrTrimArgsOrReply: the index of the ID (XADD) or 0, or -1 after replying. */
function parseAddOrTrim(ctx: CommandContext, argv: Buffer[], xadd: boolean, out: TrimArgs & { id: ParsedId | null; noMkstream: boolean }): number {
  let i = 2;
  let limitGiven = false;
  let limit = -1n;
  for (; i < argv.length; i++) {
    const moreargs = argv.length - 1 - i;
    const opt = argv[i];
    if (xadd && isWord(opt, 0x2a)) {
      break;
    } else if (optIs(opt, 'maxlen') && moreargs) {
      if (out.strategy !== 'none') {
        ctx.reply.error(SE.maxlenAndMinid);
        return -1;
      }
      i = trimOperator(argv, i, moreargs, out);
      const n = llOrReply(ctx, argv[i + 1]);
      if (n === null) return -1;
      if (n < 0n) {
        ctx.reply.error(SE.maxlenNegative);
        return -1;
      }
      out.maxlen = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
      i++;
      out.strategy = 'maxlen';
    } else if (optIs(opt, 'minid') && moreargs) {
      if (out.strategy !== 'none') {
        ctx.reply.error(SE.maxlenAndMinid);
        return -1;
      }
      i = trimOperator(argv, i, moreargs, out);
      const id = idOrReply(ctx, argv[i + 1], 0n, true);
      if (id === null) return -1;
      out.minid = id;
      i++;
      out.strategy = 'minid';
    } else if (optIs(opt, 'limit') && moreargs) {
      const n = llOrReply(ctx, argv[i + 1]);
      if (n === null) return -1;
      if (n < 0n) {
        ctx.reply.error(SE.limitNegative);
        return -1;
      }
      limit = n;
      limitGiven = true;
      i++;
    } else if (xadd && optIs(opt, 'nomkstream')) {
      out.noMkstream = true;
    } else if (xadd) {
      const p = parseId(opt, 0n, true, true);
      if (p === null) {
        ctx.reply.error(SE.invalidId);
        return -1;
      }
      out.id = p;
      break;
    } else {
      ctx.reply.error(E.syntax);
      return -1;
    }
  }
  if (limitGiven && out.strategy === 'none') {
    ctx.reply.error(SE.limitNoStrategy);
    return -1;
  }
  if (!xadd && out.strategy === 'none') {
    ctx.reply.error(SE.xtrimNoStrategy);
    return -1;
  }
  if (limitGiven) {
    if (!out.approx) {
      ctx.reply.error(SE.limitNoApprox);
      return -1;
    }
    out.limit = limit > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(limit);
  } else {
    out.limit = out.approx ? 100 * NODE_ENTRIES : 0;
  }
  return i;
}

function newTrimArgs(): TrimArgs & { id: ParsedId | null; noMkstream: boolean } {
  return { strategy: 'none', maxlen: 0, minid: ZERO_ID, approx: false, limit: 0, id: null, noMkstream: false };
}

// ---------------------------------------------------------------------------------------
// XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID

function xadd(ctx: CommandContext, argv: Buffer[]): void {
  const a = newTrimArgs();
  const idpos = parseAddOrTrim(ctx, argv, true, a);
  if (idpos < 0) return;
  const fieldPos = idpos + 1;
  const nf = argv.length - fieldPos;
  if (nf < 2 || nf % 2 === 1) {
    ctx.reply.error(E.wrongArity('xadd'));
    return;
  }
  if (a.id !== null && a.id.seqGiven && a.id.id.ms === 0n && a.id.id.seq === 0n) {
    ctx.reply.error(SE.xaddZero);
    return;
  }
  const key = argv[1];
  const m = streamOf(ctx, key);
  if (m === undefined) return;
  if (m === null && a.noMkstream) {
    ctx.reply.nil();
    return;
  }
  const st = stateOf(ctx, key, m);
  const last = lastIdOf(ctx, key, m, st);
  st.last = last;
  if (last.ms === U64_MAX && last.seq === U64_MAX) {
    ctx.reply.error(SE.exhausted);
    return;
  }
  let id: StreamId;
  if (a.id !== null) {
    if (a.id.seqGiven) id = a.id.id;
    else if (last.ms === a.id.id.ms) {
      if (last.seq === U64_MAX) {
        ctx.reply.error(SE.tooLarge);
        return;
      }
      id = { ms: last.ms, seq: last.seq + 1n };
    } else id = a.id.id;
  } else {
    // Redis streamNextID: the clock, never behind the last ID (in a cluster, the primary's clock).
    const now = BigInt(ctx.nowMs);
    id = last.ms >= now ? incrId(last)! : { ms: now, seq: 0n };
  }
  // An entry already under this ID can only come from a merge in which another primary's
  // entries are newer than this state cell says (docs/commands.md, "Streams"): never
  // overwrite it. The read is the one apply() makes anyway, now from the record cache.
  const field = entryField(id);
  if (compareIds(id, last) <= 0 || (m !== null && ctx.db.cellValue(key, m, F, field) !== null)) {
    ctx.reply.error(SE.xaddSmaller);
    return;
  }
  const w = new StreamWrite(ctx, key, m);
  w.put(field, encodeEntry(argv, fieldPos));
  st.length++;
  st.added++;
  st.last = id;
  if (st.length === 1) st.first = id;
  const trimmed = trimStream(ctx, key, m, st, w, a, id);
  w.state(st);
  w.commit();
  replyId(ctx, id);
  ctx.server.notify('t', 'xadd', key, ctx.db.index);
  if (trimmed > 0) ctx.server.notify('t', 'xtrim', key, ctx.db.index);
}

function xlen(ctx: CommandContext, argv: Buffer[]): void {
  const m = streamOf(ctx, argv[1]);
  if (m === undefined) return;
  ctx.reply.integer(m === null ? 0 : stateOf(ctx, argv[1], m).length);
}

function xrangeGeneric(ctx: CommandContext, argv: Buffer[], rev: boolean): void {
  const start = startOf(ctx, rev ? argv[3] : argv[2]);
  if (start === null) return;
  const end = endOf(ctx, rev ? argv[2] : argv[3]);
  if (end === null) return;
  let count = -1n;
  for (let j = 4; j < argv.length; j++) {
    if (optIs(argv[j], 'count') && argv.length - j - 1 >= 1) {
      const n = llOrReply(ctx, argv[j + 1]);
      if (n === null) return;
      count = n < 0n ? 0n : n;
      j++;
    } else {
      ctx.reply.error(E.syntax);
      return;
    }
  }
  const m = streamOf(ctx, argv[1]);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.array(0);
    return;
  }
  if (count === 0n) {
    ctx.reply.nilArray();
    return;
  }
  const st = stateOf(ctx, argv[1], m);
  replyRange(ctx, argv[1], m, st, start, end, count === -1n ? 0 : count > 1n << 40n ? 0 : Number(count), rev);
}

function xdel(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const m = streamOf(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.integer(0);
    return;
  }
  const ids: StreamId[] = [];
  for (let j = 2; j < argv.length; j++) {
    const id = idOrReply(ctx, argv[j], 0n, true);
    if (id === null) return;
    ids.push(id);
  }
  const st = stateOf(ctx, key, m);
  const w = new StreamWrite(ctx, key, m);
  const seen = new Set<string>();
  let deleted = 0;
  let firstGone = false;
  for (const id of ids) {
    const f = entryField(id);
    const k = f.toString('latin1');
    if (seen.has(k) || entryValue(ctx, key, m, id) === null) continue;
    seen.add(k);
    w.put(f, null);
    deleted++;
    if (compareIds(id, st.first) === 0) firstGone = true;
    if (compareIds(id, st.maxDeleted) > 0) st.maxDeleted = id;
  }
  if (deleted > 0) {
    st.length -= deleted;
    if (st.length === 0) st.first = ZERO_ID;
    else if (firstGone) {
      // The next live entry after the deleted ones (they are still in the engine until commit).
      let next: StreamId = ZERO_ID;
      scanPrefix(ctx, key, m, ENTRY_PREFIX, (f) => {
        if (seen.has(f.toString('latin1'))) return true;
        next = entryIdOf(f)!;
        return false;
      }, entryField(st.first));
      st.first = next;
    }
    w.state(st);
    w.commit();
    ctx.server.notify('t', 'xdel', key, ctx.db.index);
  }
  ctx.reply.integer(deleted);
}

function xtrim(ctx: CommandContext, argv: Buffer[]): void {
  const a = newTrimArgs();
  if (parseAddOrTrim(ctx, argv, false, a) < 0) return;
  const key = argv[1];
  const m = streamOf(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.integer(0);
    return;
  }
  const st = stateOf(ctx, key, m);
  const w = new StreamWrite(ctx, key, m);
  const deleted = trimStream(ctx, key, m, st, w, a, null);
  if (deleted > 0) {
    w.state(st);
    w.commit();
    ctx.server.notify('t', 'xtrim', key, ctx.db.index);
  }
  ctx.reply.integer(deleted);
}

function xsetid(ctx: CommandContext, argv: Buffer[]): void {
  const id = idOrReply(ctx, argv[2], 0n, true);
  if (id === null) return;
  let entriesAdded = -1n;
  let maxDel: StreamId = ZERO_ID;
  let i = 3;
  while (i < argv.length) {
    const moreargs = argv.length - 1 - i;
    if (optIs(argv[i], 'entriesadded') && moreargs) {
      const n = llOrReply(ctx, argv[i + 1]);
      if (n === null) return;
      if (n < 0n) {
        ctx.reply.error(SE.entriesAddedPositive);
        return;
      }
      entriesAdded = n;
      i += 2;
    } else if (optIs(argv[i], 'maxdeletedid') && moreargs) {
      const d = idOrReply(ctx, argv[i + 1], 0n, true);
      if (d === null) return;
      if (compareIds(id, d) < 0) {
        ctx.reply.error(SE.setidSmallerDeleted);
        return;
      }
      maxDel = d;
      i += 2;
    } else {
      ctx.reply.error(E.syntax);
      return;
    }
  }
  const key = argv[1];
  const m = streamOf(ctx, key);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.error(E.noSuchKey);
    return;
  }
  const st = stateOf(ctx, key, m);
  if (st.length > 0) {
    const top = lastEntry(ctx, key, m, st);
    if (top !== null && compareIds(id, top.id) < 0) {
      ctx.reply.error(SE.setidSmallerTop);
      return;
    }
    if (entriesAdded !== -1n && BigInt(st.length) > entriesAdded) {
      ctx.reply.error(SE.setidAddedSmaller);
      return;
    }
  }
  st.last = id;
  if (entriesAdded !== -1n) st.added = entriesAdded;
  if (!isZeroId(maxDel)) st.maxDeleted = maxDel;
  const w = new StreamWrite(ctx, key, m);
  w.state(st);
  w.commit();
  ctx.reply.ok();
  ctx.server.notify('t', 'xsetid', key, ctx.db.index);
}

// ---------------------------------------------------------------------------------------
// Consumer-group arithmetic (Redis 7.0 lag and entries-read)

/** streamRangeHasTombstones(s, start, NULL). */
function hasTombstonesFrom(st: StreamState, start: StreamId): boolean {
  if (st.length === 0 || isZeroId(st.maxDeleted)) return false;
  if (compareIds(st.first, st.maxDeleted) > 0) return false;
  return compareIds(start, st.maxDeleted) <= 0;
}

/** streamEstimateDistanceFromFirstEverEntry. */
function estimateDistance(st: StreamState, id: StreamId): bigint {
  if (st.added === 0n) return 0n;
  if (st.length === 0 && compareIds(id, st.last) < 1) return st.added;
  const cmpLast = compareIds(id, st.last);
  if (cmpLast === 0) return st.added;
  if (cmpLast > 0) return INVALID_READ;
  const cmpFirst = compareIds(id, st.first);
  if (isZeroId(st.maxDeleted) || compareIds(st.maxDeleted, st.first) < 0) {
    if (cmpFirst < 0) return st.added - BigInt(st.length);
    if (cmpFirst === 0) return st.added - BigInt(st.length) + 1n;
  }
  return INVALID_READ;
}

/** streamReplyWithCGLag. */
function replyLag(ctx: CommandContext, st: StreamState, g: GroupState): void {
  if (st.added === 0n) {
    ctx.reply.integer(0);
    return;
  }
  if (g.entriesRead !== INVALID_READ && !hasTombstonesFrom(st, g.lastId)) {
    ctx.reply.integer(st.added - g.entriesRead);
    return;
  }
  const read = estimateDistance(st, g.lastId);
  if (read !== INVALID_READ) ctx.reply.integer(st.added - read);
  else ctx.reply.nil();
}

// ---------------------------------------------------------------------------------------
// XREAD, XREADGROUP

export interface XReadArgs {
  readonly xreadgroup: boolean;
  readonly group: Buffer | null;
  readonly consumer: Buffer | null;
  readonly noack: boolean;
  /** 0: no limit. */
  readonly count: number;
  /** Milliseconds; null without BLOCK, 0 to block forever (Redis: an absolute deadline). */
  readonly blockMs: number | null;
  readonly keys: Buffer[];
  /** Read entries after these; null: the group's `>` (new entries). `$` is already resolved. */
  readonly ids: (StreamId | null)[];
}

/**
 * Parse XREAD / XREADGROUP as Redis's xreadCommand does, with its lookups: type checks,
 * group existence and `$` resolved now (at call time). Replies an error and returns null on
 * a bad call.
 */
export function parseXRead(ctx: CommandContext, argv: Buffer[], xreadgroup: boolean): XReadArgs | null {
  let blockMs: number | null = null;
  let count = 0n;
  let streamsArg = 0;
  let nstreams = 0;
  let noack = false;
  let group: Buffer | null = null;
  let consumer: Buffer | null = null;
  for (let i = 1; i < argv.length; i++) {
    const moreargs = argv.length - i - 1;
    const o = argv[i];
    if (optIs(o, 'block') && moreargs) {
      i++;
      const t = ll(argv[i]);
      if (t === null) {
        ctx.reply.error(SE.timeoutNotInt);
        return null;
      }
      if (t < 0n) {
        ctx.reply.error(SE.timeoutNegative);
        return null;
      }
      blockMs = t > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(t);
    } else if (optIs(o, 'count') && moreargs) {
      i++;
      const n = llOrReply(ctx, argv[i]);
      if (n === null) return null;
      count = n < 0n ? 0n : n;
    } else if (optIs(o, 'streams') && moreargs) {
      streamsArg = i + 1;
      nstreams = argv.length - streamsArg;
      if (nstreams % 2 !== 0) {
        ctx.reply.error(SE.unbalanced);
        return null;
      }
      nstreams /= 2;
      break;
    } else if (optIs(o, 'group') && moreargs >= 2) {
      if (!xreadgroup) {
        ctx.reply.error(SE.groupOnlyXreadgroup);
        return null;
      }
      group = argv[i + 1];
      consumer = argv[i + 2];
      i += 2;
    } else if (optIs(o, 'noack')) {
      if (!xreadgroup) {
        ctx.reply.error(SE.noackOnlyXreadgroup);
        return null;
      }
      noack = true;
    } else {
      ctx.reply.error(E.syntax);
      return null;
    }
  }
  if (streamsArg === 0) {
    ctx.reply.error(E.syntax);
    return null;
  }
  if (xreadgroup && group === null) {
    ctx.reply.error(SE.missingGroup);
    return null;
  }
  const keys: Buffer[] = [];
  const ids: (StreamId | null)[] = [];
  for (let i = streamsArg + nstreams; i < argv.length; i++) {
    const key = argv[i - nstreams];
    const m = streamOf(ctx, key);
    if (m === undefined) return null;
    if (group !== null && (m === null || groupOf(ctx, key, m, group) === null)) {
      ctx.reply.error(SE.noKeyOrGroupRead(key, group));
      return null;
    }
    keys.push(key);
    const arg = argv[i];
    if (isDollar(arg)) {
      if (xreadgroup) {
        ctx.reply.error(SE.dollarInGroup);
        return null;
      }
      ids.push(m === null ? ZERO_ID : stateOf(ctx, key, m).last);
      continue;
    }
    if (isExact(arg, '>')) {
      if (!xreadgroup) {
        ctx.reply.error(SE.gtOnlyGroup);
        return null;
      }
      ids.push(null);
      continue;
    }
    const id = idOrReply(ctx, arg, 0n, true);
    if (id === null) return null;
    ids.push(id);
  }
  return { xreadgroup, group, consumer, noack, count: count > 1n << 40n ? 0 : Number(count), blockMs, keys, ids };
}

function isExact(arg: Buffer, s: string): boolean {
  return arg.length === 1 && arg[0] === s.charCodeAt(0);
}

function isDollar(arg: Buffer): boolean {
  return isExact(arg, '$');
}

/**
 * Serve an XREAD / XREADGROUP without waiting: writes the reply and returns true, or returns
 * false (nothing written) when no stream has anything to return. XREADGROUP's deliveries
 * (PEL, group's last ID, consumer) are written as one delta per stream.
 */
export function serveXRead(ctx: CommandContext, a: XReadArgs): boolean {
  const r = ctx.reply;
  const served: { key: Buffer; run: () => void }[] = [];
  for (let i = 0; i < a.keys.length; i++) {
    const key = a.keys[i];
    const m = ctx.db.lookup(key, ctx.nowMs);
    if (m === null || m.type !== 'stream') {
      if (a.group !== null) {
        // The stream went away, or became another type, while a client waited on it:
        // Redis unblocks the client with an error.
        r.error(m === null ? SE.groupGone : E.wrongType);
        return true;
      }
      if (m !== null) {
        r.error(E.wrongType);
        return true;
      }
      continue;
    }
    const st = stateOf(ctx, key, m);
    if (a.group === null) {
      const after = a.ids[i]!;
      const start = incrId(after);
      if (start === null || st.length === 0) continue;
      const out: { id: StreamId; v: Buffer }[] = [];
      scanEntries(ctx, key, m, st, start, MAX_ID, false, (id, v) => {
        out.push({ id, v });
        return a.count === 0 || out.length < a.count;
      });
      if (out.length === 0) continue;
      served.push({
        key,
        run: () => {
          r.array(out.length);
          for (const e of out) replyEntry(ctx, e.id, e.v);
        },
      });
      continue;
    }
    const g = groupOf(ctx, key, m, a.group);
    if (g === null) {
      r.error(SE.groupGone);
      return true;
    }
    const history = a.ids[i];
    if (history !== null) {
      served.push({ key, run: serveHistory(ctx, key, m, a, history) });
      continue;
    }
    const start = incrId(g.lastId);
    if (start === null || st.length === 0) continue;
    const out: { id: StreamId; v: Buffer }[] = [];
    scanEntries(ctx, key, m, st, start, MAX_ID, false, (id, v) => {
      out.push({ id, v });
      return a.count === 0 || out.length < a.count;
    });
    if (out.length === 0) continue;
    served.push({ key, run: serveNew(ctx, key, m, st, g, a, out) });
  }
  if (served.length === 0) return false;
  if (r.proto === 2) r.array(served.length);
  else r.map(served.length);
  for (const s of served) {
    if (r.proto === 2) r.array(2);
    r.bulk(s.key);
    s.run();
  }
  return true;
}

/**
 * Deliver new entries to a consumer: PEL entries (unless NOACK), the group's last ID, the
 * consumer, written now (a stream named twice sees the first delivery); returns what
 * writes the reply.
 */
function serveNew(ctx: CommandContext, key: Buffer, m: StoredMeta, st: StreamState, g: GroupState, a: XReadArgs, out: { id: StreamId; v: Buffer }[]): () => void {
  const w = new StreamWrite(ctx, key, m);
  const group = a.group!;
  const consumer = a.consumer!;
  touchConsumer(ctx, key, m, w, group, consumer, true);
  for (const e of out) {
    if (compareIds(e.id, g.lastId) > 0) {
      if (g.entriesRead !== INVALID_READ && !hasTombstonesFrom(st, e.id)) g.entriesRead++;
      else if (st.added !== 0n) g.entriesRead = estimateDistance(st, e.id);
      g.lastId = e.id;
    }
    // An ID already pending (the group's last ID was moved back) goes to this consumer anew.
    if (!a.noack) w.put(pelField(group, e.id), encodePending({ deliveryMs: ctx.nowMs, count: 1n, consumer }));
  }
  w.group(group, g);
  w.commit();
  return () => {
    ctx.reply.array(out.length);
    for (const e of out) replyEntry(ctx, e.id, e.v);
  };
}

/** A consumer's own pending entries after `after` (XREADGROUP with an ID); written now, replied later. */
function serveHistory(ctx: CommandContext, key: Buffer, m: StoredMeta, a: XReadArgs, after: StreamId): () => void {
  const w = new StreamWrite(ctx, key, m);
  const group = a.group!;
  const consumer = a.consumer!;
  touchConsumer(ctx, key, m, w, group, consumer, false);
  const start = incrId(after);
  const items: PelItem[] = [];
  if (start !== null) {
    scanPel(ctx, key, m, group, start, (it) => {
      if (it.p.consumer.equals(consumer)) items.push(it);
      return a.count === 0 || items.length < a.count;
    });
  }
  const values = items.map((it) => entryValue(ctx, key, m, it.id));
  items.forEach((it, i) => {
    if (values[i] !== null) w.put(it.field, encodePending({ deliveryMs: ctx.nowMs, count: it.p.count + 1n, consumer }));
  });
  w.commit();
  return () => {
    const r = ctx.reply;
    r.array(items.length);
    items.forEach((it, i) => {
      const v = values[i];
      if (v !== null) {
        replyEntry(ctx, it.id, v);
        return;
      }
      r.array(2);
      replyId(ctx, it.id);
      r.nilArray();
    });
  };
}

/** Create the consumer, or refresh its seen time (Redis streamLookupConsumer / streamCreateConsumer). */
function touchConsumer(ctx: CommandContext, key: Buffer, m: StoredMeta, w: StreamWrite, group: Buffer, name: Buffer, active: boolean): boolean {
  const f = consumerField(group, name);
  const v = ctx.db.cellValue(key, m, F, f);
  const c = v === null ? { seenMs: ctx.nowMs, activeMs: -1 } : decodeConsumer(v);
  c.seenMs = ctx.nowMs;
  if (active) c.activeMs = ctx.nowMs;
  w.put(f, encodeConsumer(c));
  if (v === null) ctx.server.notify('t', 'xgroup-createconsumer', key, ctx.db.index);
  return v === null;
}

/**
 * XREAD / XREADGROUP: what there is now; with nothing and BLOCK, wait (blocking.ts) and
 * serve again whenever one of the streams is written — `$` stays what it was at the call,
 * a `>` read looks at the group's last delivered ID anew, and a woken client is served with
 * COUNT 1000 when it gave none (Redis's XREAD_BLOCKED_DEFAULT_COUNT). No BLOCK, a timeout,
 * or a call inside MULTI: a null array.
 */
function xreadGeneric(ctx: CommandContext, argv: Buffer[], group: boolean): void | Promise<void> {
  const a = parseXRead(ctx, argv, group);
  if (a === null) return;
  if (serveXRead(ctx, a)) return;
  if (a.blockMs === null) {
    ctx.reply.nilArray();
    return;
  }
  const woken: XReadArgs = { ...a, count: a.count || XREAD_BLOCKED_DEFAULT_COUNT };
  return waitOn(ctx, a.keys, a.blockMs, (c) => serveXRead(c, woken), 'array');
}

const XREAD_BLOCKED_DEFAULT_COUNT = 1000;

/** For CommandSpec.blocking: BLOCK's milliseconds (before STREAMS), or null without BLOCK. */
function xreadBlockMs(argv: Buffer[]): number | null {
  for (let i = 1; i + 1 < argv.length; i++) {
    if (optIs(argv[i], 'streams')) return null;
    if (optIs(argv[i], 'block')) {
      const t = timeoutOf(argv[i + 1], 'ms');
      return typeof t === 'string' ? null : t;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// XGROUP

const XGROUP_HELP = [
  'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  "      Set the group's entries_read counter (internal use).",
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
  'HELP',
  '    Prints this help.',
];

/** Redis xgroupCommand for every subcommand but HELP (the table has checked arity). */
function xgroup(ctx: CommandContext, argv: Buffer[]): void {
  const sub = argv[1];
  const opt = sub.toString('latin1').toLowerCase();
  let mkstream = false;
  let entriesRead = INVALID_READ;
  if ((opt === 'create' || opt === 'setid') && argv.length >= 5) {
    // CREATE takes MKSTREAM and ENTRIESREAD, SETID only ENTRIESREAD.
    let i = 5;
    while (i < argv.length) {
      if (opt === 'create' && optIs(argv[i], 'mkstream')) {
        mkstream = true;
        i++;
      } else if (optIs(argv[i], 'entriesread') && i + 1 < argv.length) {
        const n = llOrReply(ctx, argv[i + 1]);
        if (n === null) return;
        if (n < 0n && n !== INVALID_READ) {
          ctx.reply.error(SE.entriesReadRange);
          return;
        }
        entriesRead = n;
        i += 2;
      } else {
        ctx.reply.error(SE.subcommandSyntax(sub, 'XGROUP'));
        return;
      }
    }
  }
  const key = argv[2];
  const name = argv[3];
  const m = streamOf(ctx, key);
  if (m === undefined) return;
  let g: GroupState | null = null;
  if (!mkstream) {
    if (m === null) {
      ctx.reply.error(SE.keyRequired);
      return;
    }
    g = groupOf(ctx, key, m, name);
    if (g === null && (opt === 'setid' || opt === 'createconsumer' || opt === 'delconsumer')) {
      ctx.reply.error(SE.noGroupFor(name, key));
      return;
    }
  } else if (m !== null) {
    g = groupOf(ctx, key, m, name);
  }
  const st = stateOf(ctx, key, m);
  const w = new StreamWrite(ctx, key, m);
  if (opt === 'create' && argv.length >= 5 && argv.length <= 8) {
    let id: StreamId;
    if (isDollar(argv[4])) id = st.last;
    else {
      const p = idOrReply(ctx, argv[4], 0n, true);
      if (p === null) return;
      id = p;
    }
    if (g !== null) {
      ctx.reply.error(SE.busyGroup);
      return;
    }
    if (m === null) w.state(st);
    w.group(name, { lastId: id, entriesRead });
    w.commit();
    ctx.reply.ok();
    ctx.server.notify('t', 'xgroup-create', key, ctx.db.index);
  } else if (opt === 'setid' && (argv.length === 5 || argv.length === 7)) {
    let id: StreamId;
    if (isDollar(argv[4])) id = st.last;
    else {
      const p = idOrReply(ctx, argv[4], 0n, false);
      if (p === null) return;
      id = p;
    }
    w.group(name, { lastId: id, entriesRead });
    w.commit();
    ctx.reply.ok();
    ctx.server.notify('t', 'xgroup-setid', key, ctx.db.index);
  } else if (opt === 'destroy' && argv.length === 4) {
    if (g === null) {
      ctx.reply.integer(0);
      return;
    }
    w.put(groupField(name), null);
    scanPel(ctx, key, m!, name, null, (it) => {
      w.put(it.field, null);
      return true;
    });
    for (const c of consumersOf(ctx, key, m!, name)) w.put(consumerField(name, c.name), null);
    w.commit();
    ctx.reply.integer(1);
    ctx.server.notify('t', 'xgroup-destroy', key, ctx.db.index);
  } else if (opt === 'createconsumer' && argv.length === 5) {
    const f = consumerField(name, argv[4]);
    if (ctx.db.cellValue(key, m!, F, f) !== null) {
      ctx.reply.integer(0);
      return;
    }
    w.put(f, encodeConsumer({ seenMs: ctx.nowMs, activeMs: -1 }));
    w.commit();
    ctx.reply.integer(1);
    ctx.server.notify('t', 'xgroup-createconsumer', key, ctx.db.index);
  } else if (opt === 'delconsumer' && argv.length === 5) {
    const f = consumerField(name, argv[4]);
    if (ctx.db.cellValue(key, m!, F, f) === null) {
      ctx.reply.integer(0);
      return;
    }
    let pending = 0;
    scanPel(ctx, key, m!, name, null, (it) => {
      if (it.p.consumer.equals(argv[4])) {
        w.put(it.field, null);
        pending++;
      }
      return true;
    });
    w.put(f, null);
    w.commit();
    ctx.reply.integer(pending);
    ctx.server.notify('t', 'xgroup-delconsumer', key, ctx.db.index);
  } else {
    ctx.reply.error(SE.subcommandSyntax(sub, 'XGROUP'));
  }
}

// ---------------------------------------------------------------------------------------
// XACK, XPENDING, XCLAIM, XAUTOCLAIM

function xack(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const m = streamOf(ctx, key);
  if (m === undefined) return;
  const g = m === null ? null : groupOf(ctx, key, m, argv[2]);
  if (m === null || g === null) {
    ctx.reply.integer(0);
    return;
  }
  const ids: StreamId[] = [];
  for (let j = 3; j < argv.length; j++) {
    const id = idOrReply(ctx, argv[j], 0n, true);
    if (id === null) return;
    ids.push(id);
  }
  const w = new StreamWrite(ctx, key, m);
  const seen = new Set<string>();
  let acked = 0;
  for (const id of ids) {
    const f = pelField(argv[2], id);
    const k = f.toString('latin1');
    if (seen.has(k)) continue;
    seen.add(k);
    if (ctx.db.cellValue(key, m, F, f) === null) continue;
    w.put(f, null);
    acked++;
  }
  w.commit();
  ctx.reply.integer(acked);
}

function xpending(ctx: CommandContext, argv: Buffer[]): void {
  const justinfo = argv.length === 3;
  const key = argv[1];
  const groupName = argv[2];
  let consumer: Buffer | null = null;
  let start: StreamId = ZERO_ID;
  let end: StreamId = MAX_ID;
  let count = 0n;
  let minIdle = 0n;
  if (argv.length !== 3 && (argv.length < 6 || argv.length > 9)) {
    ctx.reply.error(E.syntax);
    return;
  }
  if (argv.length >= 6) {
    let s = 3;
    if (optIs(argv[3], 'idle')) {
      const n = llOrReply(ctx, argv[4]);
      if (n === null) return;
      minIdle = n;
      if (argv.length < 8) {
        ctx.reply.error(E.syntax);
        return;
      }
      s += 2;
    }
    const c = llOrReply(ctx, argv[s + 2]);
    if (c === null) return;
    count = c < 0n ? 0n : c;
    const a = startOf(ctx, argv[s]);
    if (a === null) return;
    const b = endOf(ctx, argv[s + 1]);
    if (b === null) return;
    start = a;
    end = b;
    if (s + 3 < argv.length) consumer = argv[s + 3];
  }
  const m = streamOf(ctx, key);
  if (m === undefined) return;
  if (m === null || groupOf(ctx, key, m, groupName) === null) {
    ctx.reply.error(SE.noKeyOrGroup(key, groupName));
    return;
  }
  const r = ctx.reply;
  if (justinfo) {
    let total = 0;
    let first: StreamId | null = null;
    let last: StreamId | null = null;
    const per = new Map<string, { name: Buffer; n: number }>();
    scanPel(ctx, key, m, groupName, null, (it) => {
      total++;
      if (first === null) first = it.id;
      last = it.id;
      const k = it.p.consumer.toString('latin1');
      const e = per.get(k);
      if (e === undefined) per.set(k, { name: Buffer.from(it.p.consumer), n: 1 });
      else e.n++;
      return true;
    });
    r.array(4);
    r.integer(total);
    if (total === 0) {
      r.nil();
      r.nil();
      r.nilArray();
      return;
    }
    replyId(ctx, first!);
    replyId(ctx, last!);
    const list = [...per.values()].sort((x, y) => Buffer.compare(x.name, y.name));
    r.array(list.length);
    for (const e of list) {
      r.array(2);
      r.bulk(e.name);
      r.bulkString(String(e.n));
    }
    return;
  }
  if (consumer !== null && ctx.db.cellValue(key, m, F, consumerField(groupName, consumer)) === null) {
    r.array(0);
    return;
  }
  const out: PelItem[] = [];
  const now = ctx.nowMs;
  if (count > 0n && compareIds(start, end) <= 0) {
    scanPel(ctx, key, m, groupName, start, (it) => {
      if (compareIds(it.id, end) > 0) return false;
      if (consumer !== null && !it.p.consumer.equals(consumer)) return true;
      if (minIdle !== 0n && BigInt(Math.trunc(now - it.p.deliveryMs)) < minIdle) return true;
      out.push(it);
      return BigInt(out.length) < count;
    });
  }
  r.array(out.length);
  for (const it of out) {
    r.array(4);
    replyId(ctx, it.id);
    r.bulk(it.p.consumer);
    const elapsed = now - it.p.deliveryMs;
    r.integer(elapsed < 0 ? 0 : elapsed);
    r.integer(it.p.count);
  }
}

/** Claim one pending entry for `consumer` (XCLAIM, XAUTOCLAIM): its PEL cell names the new owner. */
function claimOne(w: StreamWrite, group: Buffer, id: StreamId, consumer: Buffer, deliveryMs: number, count: bigint): void {
  w.put(pelField(group, id), encodePending({ deliveryMs, count, consumer }));
}

function xclaim(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const groupName = argv[2];
  const m = streamOf(ctx, key);
  if (m === undefined) return;
  const g = m === null ? null : groupOf(ctx, key, m, groupName);
  if (m === null || g === null) {
    ctx.reply.error(SE.noKeyOrGroup(key, groupName));
    return;
  }
  let minIdle = llOrReply(ctx, argv[4], SE.minIdle('XCLAIM'));
  if (minIdle === null) return;
  if (minIdle < 0n) minIdle = 0n;
  const ids: StreamId[] = [];
  let j = 5;
  for (; j < argv.length; j++) {
    const p = parseId(argv[j], 0n, true);
    if (p === null) break;
    ids.push(p.id);
  }
  const now = ctx.nowMs;
  let lastId: StreamId = ZERO_ID;
  let deliveryTime = -1n;
  let retryCount = -1n;
  let force = false;
  let justid = false;
  for (; j < argv.length; j++) {
    const moreargs = argv.length - 1 - j;
    const opt = argv[j];
    if (optIs(opt, 'force')) force = true;
    else if (optIs(opt, 'justid')) justid = true;
    else if (optIs(opt, 'idle') && moreargs) {
      j++;
      const n = llOrReply(ctx, argv[j], SE.claimOpt('IDLE'));
      if (n === null) return;
      deliveryTime = BigInt(now) - n;
    } else if (optIs(opt, 'time') && moreargs) {
      j++;
      const n = llOrReply(ctx, argv[j], SE.claimOpt('TIME'));
      if (n === null) return;
      deliveryTime = n;
    } else if (optIs(opt, 'retrycount') && moreargs) {
      j++;
      const n = llOrReply(ctx, argv[j], SE.claimOpt('RETRYCOUNT'));
      if (n === null) return;
      retryCount = n;
    } else if (optIs(opt, 'lastid') && moreargs) {
      j++;
      const id = idOrReply(ctx, argv[j], 0n, true);
      if (id === null) return;
      lastId = id;
    } else {
      ctx.reply.error(SE.claimUnknown(opt));
      return;
    }
  }
  const w = new StreamWrite(ctx, key, m);
  if (compareIds(lastId, g.lastId) > 0) {
    g.lastId = lastId;
    w.group(groupName, g);
  }
  const deliveryMs = deliveryTime === -1n || deliveryTime < 0n || deliveryTime > BigInt(now) ? now : Number(deliveryTime);
  const r = ctx.reply;
  const out: { id: StreamId; v: Buffer | null }[] = [];
  let haveConsumer = false;
  const claimed = new Map<string, Pending>();
  for (const id of ids) {
    const f = pelField(groupName, id);
    const k = f.toString('latin1');
    let p: Pending | null | undefined = claimed.get(k);
    if (p === undefined) {
      const pv = ctx.db.cellValue(key, m, F, f);
      p = pv === null ? null : decodePending(pv);
    }
    const v = entryValue(ctx, key, m, id);
    if (v === null) {
      // The entry is gone: its pending entry goes too.
      if (p !== null) {
        w.put(f, null);
        claimed.delete(k);
      }
      continue;
    }
    let forced = false;
    if (force && p === null) {
      p = { deliveryMs: 0, count: 0n, consumer: Buffer.alloc(0) };
      forced = true;
    }
    if (p === null) continue;
    if (!forced && minIdle !== 0n && BigInt(Math.trunc(now - p.deliveryMs)) < minIdle) continue;
    if (!haveConsumer) {
      touchConsumer(ctx, key, m, w, groupName, argv[3], true);
      haveConsumer = true;
    }
    let count = p.count;
    if (retryCount >= 0n) count = retryCount;
    else if (!justid) count++;
    const np: Pending = { deliveryMs, count, consumer: argv[3] };
    claimed.set(k, np);
    claimOne(w, groupName, id, argv[3], deliveryMs, count);
    out.push({ id, v });
  }
  w.commit();
  r.array(out.length);
  for (const e of out) {
    if (justid) replyId(ctx, e.id);
    else replyEntry(ctx, e.id, e.v!);
  }
}

function xautoclaim(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1];
  const groupName = argv[2];
  let minIdle = llOrReply(ctx, argv[4], SE.minIdle('XAUTOCLAIM'));
  if (minIdle === null) return;
  if (minIdle < 0n) minIdle = 0n;
  const start = startOf(ctx, argv[5]);
  if (start === null) return;
  let count = 100n;
  let justid = false;
  const maxCount = ((1n << 63n) - 1n) / 16n;
  for (let j = 6; j < argv.length; j++) {
    const moreargs = argv.length - 1 - j;
    if (optIs(argv[j], 'count') && moreargs) {
      const n = ll(argv[j + 1]);
      if (n === null || n < 1n || n > maxCount) {
        ctx.reply.error(SE.countPositive);
        return;
      }
      count = n;
      j++;
    } else if (optIs(argv[j], 'justid')) {
      justid = true;
    } else {
      ctx.reply.error(E.syntax);
      return;
    }
  }
  const m = streamOf(ctx, key);
  if (m === undefined) return;
  const g = m === null ? null : groupOf(ctx, key, m, groupName);
  if (m === null || g === null) {
    ctx.reply.error(SE.noKeyOrGroup(key, groupName));
    return;
  }
  const now = ctx.nowMs;
  let attempts = count * 10n;
  let left = count;
  const w = new StreamWrite(ctx, key, m);
  const out: { id: StreamId; v: Buffer }[] = [];
  const deleted: StreamId[] = [];
  let next: StreamId = ZERO_ID;
  let haveConsumer = false;
  scanPel(ctx, key, m, groupName, start, (it) => {
    if (attempts === 0n || left === 0n) {
      next = it.id;
      return false;
    }
    attempts--;
    const v = entryValue(ctx, key, m, it.id);
    if (v === null) {
      w.put(it.field, null);
      deleted.push(it.id);
      left--;
      return true;
    }
    if (minIdle !== 0n && BigInt(Math.trunc(now - it.p.deliveryMs)) < minIdle) return true;
    if (!haveConsumer) {
      touchConsumer(ctx, key, m, w, groupName, argv[3], true);
      haveConsumer = true;
    }
    const c = justid ? it.p.count : it.p.count + 1n;
    claimOne(w, groupName, it.id, argv[3], now, c);
    out.push({ id: it.id, v });
    left--;
    return true;
  });
  w.commit();
  const r = ctx.reply;
  r.array(3);
  replyId(ctx, next);
  r.array(out.length);
  for (const e of out) {
    if (justid) replyId(ctx, e.id);
    else replyEntry(ctx, e.id, e.v);
  }
  r.array(deleted.length);
  for (const id of deleted) replyId(ctx, id);
}

// ---------------------------------------------------------------------------------------
// XINFO

const XINFO_HELP = [
  'XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
  'HELP',
  '    Prints this help.',
];

function xinfoLookup(ctx: CommandContext, key: Buffer): StoredMeta | null {
  const m = streamOf(ctx, key);
  if (m === undefined) return null;
  if (m === null) {
    ctx.reply.error(E.noSuchKey);
    return null;
  }
  return m;
}

function xinfoConsumers(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[2];
  const m = xinfoLookup(ctx, key);
  if (m === null) return;
  const groupName = argv[3];
  if (groupOf(ctx, key, m, groupName) === null) {
    ctx.reply.error(SE.noGroupFor(groupName, key));
    return;
  }
  const consumers = consumersOf(ctx, key, m, groupName);
  const pending = pendingPerConsumer(ctx, key, m, groupName);
  const r = ctx.reply;
  r.array(consumers.length);
  for (const c of consumers) {
    r.map(3);
    r.bulkString('name');
    r.bulk(c.name);
    r.bulkString('pending');
    r.integer(pending.get(c.name.toString('latin1')) ?? 0);
    r.bulkString('idle');
    const idle = ctx.nowMs - c.seenMs;
    r.integer(idle < 0 ? 0 : idle);
  }
}

function pendingPerConsumer(ctx: CommandContext, key: Buffer, m: StoredMeta, group: Buffer): Map<string, number> {
  const per = new Map<string, number>();
  scanPel(ctx, key, m, group, null, (it) => {
    const k = it.p.consumer.toString('latin1');
    per.set(k, (per.get(k) ?? 0) + 1);
    return true;
  });
  return per;
}

function xinfoGroups(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[2];
  const m = xinfoLookup(ctx, key);
  if (m === null) return;
  const st = stateOf(ctx, key, m);
  const groups = groupsOf(ctx, key, m);
  const r = ctx.reply;
  r.array(groups.length);
  for (const { name, g } of groups) {
    let pending = 0;
    scanPel(ctx, key, m, name, null, () => {
      pending++;
      return true;
    });
    r.map(6);
    r.bulkString('name');
    r.bulk(name);
    r.bulkString('consumers');
    r.integer(consumersOf(ctx, key, m, name).length);
    r.bulkString('pending');
    r.integer(pending);
    r.bulkString('last-delivered-id');
    replyId(ctx, g.lastId);
    r.bulkString('entries-read');
    if (g.entriesRead !== INVALID_READ) r.integer(g.entriesRead);
    else r.nil();
    r.bulkString('lag');
    replyLag(ctx, st, g);
  }
}

/** XINFO STREAM's radix-tree-keys and radix-tree-nodes: estimates (see the module note). */
function radixEstimate(length: number): [number, number] {
  const keys = Math.ceil(length / NODE_ENTRIES);
  return [keys, keys + 1];
}

function xinfoStream(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[2];
  const m = xinfoLookup(ctx, key);
  if (m === null) return;
  let full = false;
  let count = 10n;
  if (argv.length > 3) {
    if (argv.length > 6 || argv.length === 5 || !optIs(argv[3], 'full')) {
      ctx.reply.error(SE.subcommandSyntax(argv[1], 'XINFO'));
      return;
    }
    full = true;
    if (argv.length === 6) {
      if (!optIs(argv[4], 'count')) {
        ctx.reply.error(SE.subcommandSyntax(argv[1], 'XINFO'));
        return;
      }
      const n = llOrReply(ctx, argv[5]);
      if (n === null) return;
      count = n < 0n ? 10n : n;
    }
  }
  const st = stateOf(ctx, key, m);
  const r = ctx.reply;
  const [rkeys, rnodes] = radixEstimate(st.length);
  const groups = groupsOf(ctx, key, m);
  r.map(full ? 9 : 10);
  r.bulkString('length');
  r.integer(st.length);
  r.bulkString('radix-tree-keys');
  r.integer(rkeys);
  r.bulkString('radix-tree-nodes');
  r.integer(rnodes);
  r.bulkString('last-generated-id');
  replyId(ctx, st.last);
  r.bulkString('max-deleted-entry-id');
  replyId(ctx, st.maxDeleted);
  r.bulkString('entries-added');
  r.integer(st.added);
  r.bulkString('recorded-first-entry-id');
  replyId(ctx, st.first);
  if (!full) {
    r.bulkString('groups');
    r.integer(groups.length);
    r.bulkString('first-entry');
    const first: { id: StreamId; v: Buffer }[] = [];
    scanEntries(ctx, key, m, st, ZERO_ID, MAX_ID, false, (id, v) => {
      first.push({ id, v });
      return false;
    });
    if (first.length === 0) r.nil();
    else replyEntry(ctx, first[0].id, first[0].v);
    r.bulkString('last-entry');
    const last = lastEntry(ctx, key, m, st);
    if (last === null) r.nil();
    else replyEntry(ctx, last.id, last.v);
    return;
  }
  const limit = count > 1n << 40n ? 0 : Number(count);
  r.bulkString('entries');
  replyRange(ctx, key, m, st, ZERO_ID, MAX_ID, limit, false);
  r.bulkString('groups');
  r.array(groups.length);
  for (const { name, g } of groups) {
    const pel: PelItem[] = [];
    let pelCount = 0;
    const per = new Map<string, PelItem[]>();
    const perCount = new Map<string, number>();
    scanPel(ctx, key, m, name, null, (it) => {
      pelCount++;
      if (limit === 0 || pel.length < limit) pel.push(it);
      const k = it.p.consumer.toString('latin1');
      perCount.set(k, (perCount.get(k) ?? 0) + 1);
      let list = per.get(k);
      if (list === undefined) per.set(k, (list = []));
      if (limit === 0 || list.length < limit) list.push(it);
      return true;
    });
    r.map(7);
    r.bulkString('name');
    r.bulk(name);
    r.bulkString('last-delivered-id');
    replyId(ctx, g.lastId);
    r.bulkString('entries-read');
    if (g.entriesRead !== INVALID_READ) r.integer(g.entriesRead);
    else r.nil();
    r.bulkString('lag');
    replyLag(ctx, st, g);
    r.bulkString('pel-count');
    r.integer(pelCount);
    r.bulkString('pending');
    r.array(pel.length);
    for (const it of pel) {
      r.array(4);
      replyId(ctx, it.id);
      r.bulk(it.p.consumer);
      r.integer(it.p.deliveryMs);
      r.integer(it.p.count);
    }
    const consumers = consumersOf(ctx, key, m, name);
    r.bulkString('consumers');
    r.array(consumers.length);
    for (const c of consumers) {
      const k = c.name.toString('latin1');
      const list = per.get(k) ?? [];
      r.map(4);
      r.bulkString('name');
      r.bulk(c.name);
      r.bulkString('seen-time');
      r.integer(c.seenMs);
      r.bulkString('pel-count');
      r.integer(perCount.get(k) ?? 0);
      r.bulkString('pending');
      r.array(list.length);
      for (const it of list) {
        r.array(3);
        replyId(ctx, it.id);
        r.integer(it.p.deliveryMs);
        r.integer(it.p.count);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Specs

/**
 * XREAD / XREADGROUP keys as Redis 7.0's key spec finds them (COMMAND GETKEYS, cluster
 * routing): the first STREAMS from argument `startfrom` on, then the first half of what
 * follows it (rounded down).
 */
function xreadKeys(startfrom: number): (argv: Buffer[]) => number[] {
  return (argv) => {
    for (let i = startfrom; i < argv.length; i++) {
      if (!optIs(argv[i], 'streams')) continue;
      const first = i + 1;
      const out: number[] = [];
      for (let k = first; k < first + Math.floor((argv.length - first) / 2); k++) out.push(k);
      return out;
    }
    return [];
  };
}

const xgroupSubcommands = [
  { name: 'create', arity: -5, flags: ['write', 'denyoom'], keys: KEY2, group: 'stream', summary: 'Create a consumer group.', since: '5.0.0', complexity: 'O(1)', handler: xgroup },
  { name: 'destroy', arity: 4, flags: ['write'], keys: KEY2, group: 'stream', summary: 'Destroy a consumer group.', since: '5.0.0', complexity: "O(N) where N is the number of entries in the group's pending entries list (PEL).", handler: xgroup },
  { name: 'setid', arity: -5, flags: ['write'], keys: KEY2, group: 'stream', summary: 'Set a consumer group to an arbitrary last delivered ID value.', since: '5.0.0', complexity: 'O(1)', handler: xgroup },
  { name: 'createconsumer', arity: 5, flags: ['write', 'denyoom'], keys: KEY2, group: 'stream', summary: 'Create a consumer in a consumer group.', since: '6.2.0', complexity: 'O(1)', handler: xgroup },
  { name: 'delconsumer', arity: 5, flags: ['write'], keys: KEY2, group: 'stream', summary: 'Delete a consumer from a consumer group.', since: '5.0.0', complexity: 'O(1)', handler: xgroup },
  { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'stream', summary: 'Show helpful text about the different subcommands', since: '5.0.0', complexity: 'O(1)', handler: (ctx) => helpReply(ctx.reply, XGROUP_HELP) },
] satisfies CommandSpec[];

const xinfoSubcommands = [
  { name: 'stream', arity: -3, flags: ['readonly'], keys: KEY2, group: 'stream', summary: 'Get information about a stream', since: '5.0.0', complexity: 'O(1)', handler: xinfoStream },
  { name: 'consumers', arity: 4, flags: ['readonly'], keys: KEY2, group: 'stream', summary: 'List the consumers in a consumer group', since: '5.0.0', complexity: 'O(1)', handler: xinfoConsumers },
  { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'stream', summary: 'Show helpful text about the different subcommands', since: '5.0.0', complexity: 'O(1)', handler: (ctx) => helpReply(ctx.reply, XINFO_HELP) },
  { name: 'groups', arity: 3, flags: ['readonly'], keys: KEY2, group: 'stream', summary: 'List the consumer groups of a stream', since: '5.0.0', complexity: 'O(1)', handler: xinfoGroups },
] satisfies CommandSpec[];

export const streamCommands = [
  { name: 'xadd', arity: -5, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'stream', summary: 'Appends a new entry to a stream', since: '5.0.0', complexity: 'O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.', handler: xadd },
  { name: 'xlen', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: 'stream', summary: 'Return the number of entries in a stream', since: '5.0.0', complexity: 'O(1)', handler: xlen },
  { name: 'xrange', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: 'stream', summary: 'Return a range of elements in a stream, with IDs matching the specified IDs interval', since: '5.0.0', complexity: 'O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).', handler: (ctx, argv) => xrangeGeneric(ctx, argv, false) },
  { name: 'xrevrange', arity: -4, flags: ['readonly'], keys: ONE_KEY, group: 'stream', summary: 'Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE', since: '5.0.0', complexity: 'O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).', handler: (ctx, argv) => xrangeGeneric(ctx, argv, true) },
  { name: 'xdel', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: 'stream', summary: 'Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.', since: '5.0.0', complexity: 'O(1) for each single item to delete in the stream, regardless of the stream size.', handler: xdel },
  { name: 'xtrim', arity: -4, flags: ['write'], keys: ONE_KEY, group: 'stream', summary: "Trims the stream to (approximately if '~' is passed) a certain size", since: '5.0.0', complexity: 'O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.', handler: xtrim },
  { name: 'xread', arity: -4, flags: ['readonly', 'blocking'], keys: NO_KEYS, getKeys: xreadKeys(1), group: 'stream', blocking: { timeoutMs: xreadBlockMs, nullReply: 'array' }, summary: 'Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.', since: '5.0.0', complexity: 'For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.', handler: (ctx, argv) => xreadGeneric(ctx, argv, false) },
  { name: 'xreadgroup', arity: -7, flags: ['write', 'blocking'], keys: NO_KEYS, getKeys: xreadKeys(4), group: 'stream', blocking: { timeoutMs: xreadBlockMs, nullReply: 'array' }, summary: 'Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.', since: '5.0.0', complexity: 'For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.', handler: (ctx, argv) => xreadGeneric(ctx, argv, true) },
  { name: 'xgroup', arity: -2, flags: [], keys: NO_KEYS, group: 'stream', summary: 'A container for consumer groups commands', since: '5.0.0', complexity: 'Depends on subcommand.', subcommands: xgroupSubcommands },
  { name: 'xack', arity: -4, flags: ['write', 'fast'], keys: ONE_KEY, group: 'stream', summary: 'Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.', since: '5.0.0', complexity: 'O(1) for each message ID processed.', handler: xack },
  { name: 'xpending', arity: -3, flags: ['readonly'], keys: ONE_KEY, group: 'stream', summary: 'Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.', since: '5.0.0', complexity: 'O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.', handler: xpending },
  { name: 'xclaim', arity: -6, flags: ['write', 'fast'], keys: ONE_KEY, group: 'stream', summary: 'Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.', since: '5.0.0', complexity: 'O(log N) with N being the number of messages in the PEL of the consumer group.', handler: xclaim },
  { name: 'xautoclaim', arity: -6, flags: ['write', 'fast'], keys: ONE_KEY, group: 'stream', summary: 'Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.', since: '6.2.0', complexity: 'O(1) if COUNT is small.', handler: xautoclaim },
  { name: 'xinfo', arity: -2, flags: [], keys: NO_KEYS, group: 'stream', summary: 'A container for stream introspection commands', since: '5.0.0', complexity: 'Depends on subcommand.', subcommands: xinfoSubcommands },
  { name: 'xsetid', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: ONE_KEY, group: 'stream', summary: 'An internal command for replicating stream values', since: '5.0.0', complexity: 'O(1)', handler: xsetid },
] satisfies CommandSpec[];
