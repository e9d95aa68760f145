/**
 * OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ | HELP, after Redis 7.0.15 object.c.
 *
 * quorumkv has no Redis objects, so the answers are derived from what is stored, as cheaply
 * as Redis answers them (O(1), or one bounded scan of a small collection):
 * - ENCODING names the encoding Redis 7.0 would give the value as it is now: a string is
 *   'int' when it reads as a 64-bit integer in canonical form (tryObjectEncoding), else
 *   'embstr' up to 44 bytes, else 'raw'; a hash 'listpack' up to 512 fields of at most 64
 *   bytes each, else 'hashtable'; a set 'intset' up to 512 integer members, else
 *   'hashtable'; a list 'quicklist'; a sorted set 'listpack' (up to 128) or 'skiplist'.
 *   Redis never converts back (a hash that once grew stays a hashtable; APPEND and
 *   SETRANGE leave a 'raw' string), and quorumkv does not remember history: it answers
 *   from the current value.
 * - REFCOUNT is 2147483647 for the values Redis shares (integers 0..9999), else 1.
 * - IDLETIME is 0: quorumkv keeps no per-key access clock (docs/commands.md).
 * - FREQ: no LFU maxmemory policy exists here, so it always refuses with Redis's error.
 */
import { helpReply } from './args';
import { E } from './errors';
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';
import type { StoredMeta } from '../storage/meta';
import { CELL_FIELD } from '../storage/layout';
import { parseInt64 } from '../util/numbers';

/**
 * Redis 7.0's built-in defaults (config.c; the sample redis.conf says 128 for hashes):
 * embstr limit, hash-max-listpack-entries 512, zset-max-listpack-entries 128, both
 * *-max-listpack-value 64, set-max-intset-entries 512.
 */
const EMBSTR_SIZE_LIMIT = 44;
const HASH_LISTPACK_ENTRIES_MAX = 512;
const ZSET_LISTPACK_ENTRIES_MAX = 128;
const LISTPACK_VALUE_MAX = 64;
const INTSET_ENTRIES_MAX = 512;
/** OBJ_SHARED_INTEGERS and OBJ_SHARED_REFCOUNT. */
const SHARED_INTEGERS = 10000;
const SHARED_REFCOUNT = 2147483647;

/** Redis string2ll on a value of at most 20 bytes: the integer, or null. */
function asLong(v: Buffer): bigint | number | null {
  if (v.length === 0 || v.length > 20) return null;
  return parseInt64(v);
}

/** The encoding Redis 7.0 gives a value shaped like this one (see the module note). */
export function encodingOf(ctx: CommandContext, key: Buffer, m: StoredMeta): string {
  switch (m.type) {
    case 'string': {
      const v = m.value ?? Buffer.alloc(0);
      if (asLong(v) !== null) return 'int';
      return v.length <= EMBSTR_SIZE_LIMIT ? 'embstr' : 'raw';
    }
    case 'hash':
    case 'zset': {
      const big = m.type === 'hash' ? 'hashtable' : 'skiplist';
      if (m.count > (m.type === 'hash' ? HASH_LISTPACK_ENTRIES_MAX : ZSET_LISTPACK_ENTRIES_MAX)) return big;
      let small = true;
      ctx.db.scanCells(key, m, CELL_FIELD, (c) => {
        small = c.field.length <= LISTPACK_VALUE_MAX && (c.value === null || c.value.length <= LISTPACK_VALUE_MAX);
        return small;
      });
      return small ? 'listpack' : big;
    }
    case 'set': {
      if (m.count > INTSET_ENTRIES_MAX) return 'hashtable';
      let ints = true;
      ctx.db.scanCells(key, m, CELL_FIELD, (c) => {
        ints = asLong(c.field) !== null;
        return ints;
      });
      return ints ? 'intset' : 'hashtable';
    }
    case 'list':
      return 'quicklist';
    case 'stream':
      return 'stream';
    default:
      throw new Error(`OBJECT ENCODING of a key without type`);
  }
}

function refcountOf(m: StoredMeta): number {
  if (m.type !== 'string' || m.value === null) return 1;
  const n = asLong(m.value);
  return n !== null && n >= 0 && n < SHARED_INTEGERS ? SHARED_REFCOUNT : 1;
}

/** objectCommandLookupOrReply: the key, or null after replying a null. */
function lookupOrNull(ctx: CommandContext, key: Buffer): StoredMeta | null {
  const m = ctx.db.lookup(key, ctx.nowMs);
  if (m === null) ctx.reply.nil();
  return m;
}

const OBJECT_HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
];

const KEY2 = { first: 2, last: 2, step: 1 } as const;

const objectSubcommands = [
  {
    name: 'encoding', arity: 3, flags: ['readonly'], keys: KEY2, group: 'generic', summary: 'Inspect the internal encoding of a Redis object', since: '2.2.3', complexity: 'O(1)',
    handler: (ctx, argv) => {
      const m = lookupOrNull(ctx, argv[2]);
      if (m !== null) ctx.reply.bulkString(encodingOf(ctx, argv[2], m));
    },
  },
  {
    name: 'freq', arity: 3, flags: ['readonly'], keys: KEY2, group: 'generic', summary: 'Get the logarithmic access frequency counter of a Redis object', since: '4.0.0', complexity: 'O(1)',
    handler: (ctx, argv) => {
      if (lookupOrNull(ctx, argv[2]) !== null) ctx.reply.error(E.lfuNotSelected);
    },
  },
  {
    name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'generic', summary: 'Show helpful text about the different subcommands', since: '6.2.0', complexity: 'O(1)',
    handler: (ctx) => helpReply(ctx.reply, OBJECT_HELP),
  },
  {
    name: 'idletime', arity: 3, flags: ['readonly'], keys: KEY2, group: 'generic', summary: 'Get the time since a Redis object was last accessed', since: '2.2.3', complexity: 'O(1)',
    handler: (ctx, argv) => {
      if (lookupOrNull(ctx, argv[2]) !== null) ctx.reply.integer(0);
    },
  },
  {
    name: 'refcount', arity: 3, flags: ['readonly'], keys: KEY2, group: 'generic', summary: 'Get the number of references to the value of the key', since: '2.2.3', complexity: 'O(1)',
    handler: (ctx, argv) => {
      const m = lookupOrNull(ctx, argv[2]);
      if (m !== null) ctx.reply.integer(refcountOf(m));
    },
  },
] satisfies CommandSpec[];

export const objectCommands = [
  { name: 'object', arity: -2, flags: [], keys: NO_KEYS, group: 'generic', summary: 'A container for object introspection commands', since: '2.2.3', complexity: 'Depends on subcommand.', subcommands: objectSubcommands },
] satisfies CommandSpec[];
