/**
 * Redis's lookupKeyRead + checkType, shared by the type modules: the live key of `type`,
 * null when the key does not exist, undefined after replying WRONGTYPE.
 */
import { E } from './errors';
import type { CommandContext } from './types';
import type { KeyType } from '../storage/delta';
import type { StoredMeta } from '../storage/meta';

export function lookupOfType(ctx: CommandContext, key: Buffer, type: KeyType): StoredMeta | null | undefined {
  const m = ctx.db.lookup(key, ctx.nowMs);
  if (m === null) return null;
  if (m.type !== type) {
    ctx.reply.error(E.wrongType);
    return undefined;
  }
  return m;
}
