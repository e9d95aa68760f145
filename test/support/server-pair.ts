/**
 * The two servers a differential test compares: a real redis-server (the reference) and the
 * server under test (startTarget: quorumkv, or a second redis-server with
 * QKV_COMPAT_TARGET=redis), both started before the file's tests and stopped after them.
 */
import { afterAll, beforeAll } from 'vitest';
import { startRedis, startTarget, type ServerProcess } from './servers';

export interface ServerPair {
  reference: ServerProcess | undefined;
  target: ServerProcess | undefined;
}

/** Start both in beforeAll (both are started even if one fails, so both get stopped). */
export function useServerPair(directives: string[] = []): ServerPair {
  const pair: ServerPair = { reference: undefined, target: undefined };
  beforeAll(async () => {
    const [r, t] = await Promise.allSettled([startRedis({ args: directives }), startTarget(directives)]);
    if (r.status === 'fulfilled') pair.reference = r.value;
    if (t.status === 'fulfilled') pair.target = t.value;
    if (r.status === 'rejected') throw r.reason;
    if (t.status === 'rejected') throw t.reason;
  });
  afterAll(async () => {
    await Promise.all([pair.reference?.stop(), pair.target?.stop()]);
  });
  return pair;
}
