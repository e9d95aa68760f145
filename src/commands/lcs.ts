/**
 * LCS, ported from Redis 7.0.15 t_string.c lcsCommand: the longest common subsequence of
 * two strings, as the string itself, its length (LEN), or the matching ranges (IDX, with
 * MINMATCHLEN and WITHMATCHLEN), with Redis's order of checks and error texts.
 *
 * The table is the same dynamic programme as Redis's, (len(a)+1)·(len(b)+1) 32-bit
 * cells, refused past proto-max-bulk-len bytes as Redis refuses it. It runs in the
 * command's turn, as in Redis (O(N·M) time): the limit is what bounds it.
 *
 * In a cluster both keys must share one replica set (a hash tag); the coordinator refuses
 * them otherwise, as it does any multi-key command without a split.
 */
import { optIs } from './args';
import { E } from './errors';
import type { CommandContext, CommandSpec } from './types';
import { parseInt64 } from '../util/numbers';

const EMPTY = Buffer.alloc(0);

interface LcsMatch {
  aStart: number;
  aEnd: number;
  bStart: number;
  bEnd: number;
  len: number;
}

/** The strings of the two keys (absent: empty), or null after a type error. */
function readStrings(ctx: CommandContext, argv: Buffer[]): [Buffer, Buffer] | null {
  const ma = ctx.db.lookup(argv[1], ctx.nowMs);
  const mb = ctx.db.lookup(argv[2], ctx.nowMs);
  if ((ma !== null && ma.type !== 'string') || (mb !== null && mb.type !== 'string')) {
    ctx.reply.error(E.lcsNotStrings);
    return null;
  }
  return [ma?.value ?? EMPTY, mb?.value ?? EMPTY];
}

function lcs(ctx: CommandContext, argv: Buffer[]): void {
  const strings = readStrings(ctx, argv);
  if (strings === null) return;
  const [a, b] = strings;
  let getLen = false;
  let getIdx = false;
  let withMatchLen = false;
  let minMatchLen = 0;
  for (let j = 3; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (optIs(argv[j], 'idx')) getIdx = true;
    else if (optIs(argv[j], 'len')) getLen = true;
    else if (optIs(argv[j], 'withmatchlen')) withMatchLen = true;
    else if (optIs(argv[j], 'minmatchlen') && more > 0) {
      const v = parseInt64(argv[j + 1]);
      if (v === null) {
        ctx.reply.error(E.notInteger);
        return;
      }
      minMatchLen = v < 0 ? 0 : Number(v);
      j++;
    } else {
      ctx.reply.error(E.syntax);
      return;
    }
  }
  if (getIdx && getLen) {
    ctx.reply.error(E.lcsLenAndIdx);
    return;
  }
  const alen = a.length;
  const blen = b.length;
  const cellsBytes = (alen + 1) * (blen + 1) * 4;
  if (cellsBytes > ctx.server.settings.protoMaxBulkLen) {
    ctx.reply.error(E.lcsTooBig);
    return;
  }
  const w = blen + 1;
  const t = new Uint32Array((alen + 1) * w);
  for (let i = 1; i <= alen; i++) {
    const ai = a[i - 1];
    const row = i * w;
    const prev = row - w;
    for (let j = 1; j <= blen; j++) {
      if (ai === b[j - 1]) t[row + j] = t[prev + j - 1] + 1;
      else {
        const up = t[prev + j];
        const left = t[row + j - 1];
        t[row + j] = up > left ? up : left;
      }
    }
  }
  const total = t[alen * w + blen];
  const computeLcs = getIdx || !getLen;
  if (!computeLcs) {
    ctx.reply.integer(total);
    return;
  }

  // Walk back from the end, as Redis does, building the string and the ranges.
  const result = Buffer.allocUnsafe(total);
  const matches: LcsMatch[] = [];
  let idx = total;
  let aStart = alen; // alen: no range open
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = alen;
  let j = blen;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[idx - 1] = a[i - 1];
      if (aStart === alen) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (t[(i - 1) * w + j] > t[i * w + j - 1]) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    if (emit) {
      const len = aEnd - aStart + 1;
      if (minMatchLen === 0 || len >= minMatchLen) matches.push({ aStart, aEnd, bStart, bEnd, len });
      aStart = alen;
    }
  }

  if (!getIdx) {
    ctx.reply.bulk(result);
    return;
  }
  const r = ctx.reply;
  r.map(2);
  r.bulkString('matches');
  r.array(matches.length);
  for (const m of matches) {
    r.array(withMatchLen ? 3 : 2);
    r.array(2);
    r.integer(m.aStart);
    r.integer(m.aEnd);
    r.array(2);
    r.integer(m.bStart);
    r.integer(m.bEnd);
    if (withMatchLen) r.integer(m.len);
  }
  r.bulkString('len');
  r.integer(total);
}

export const lcsCommands = [
  {
    name: 'lcs', arity: -3, flags: ['readonly'], keys: { first: 1, last: 2, step: 1 }, group: 'string', summary: 'Find longest common substring', since: '7.0.0',
    complexity: 'O(N*M) where N and M are the lengths of s1 and s2, respectively',
    handler: lcs,
  },
] satisfies CommandSpec[];
