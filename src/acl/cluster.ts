/**
 * The ACL across a cluster (bus verb `acl`, bus/verbs.ts): a change made on this node (ACL
 * SETUSER, DELUSER, LOAD) stamps the users it names (version, origin) and is sent to every
 * node that is up; the command answers once they have it. Every ACL_RESEND_MS each node
 * resends every stamped user and deletion it holds, so a node that was down or restarted
 * catches up. A receiver applies each user whose stamp is newer than its own for that user
 * (store.ts applyRemote): the last writer wins, per user.
 */
import { ACL } from '../bus/verbs';
import type { BusTransport, PeerAddress } from '../bus/transport';
import type { Cancel, Scheduler } from '../runtime/scheduler';
import type { AclEntry, AclStore } from './store';

/** How often a node resends the ACL it got from a change to the nodes that are up. */
export const ACL_RESEND_MS = 10_000;

export interface AclClusterDeps {
  selfId: string;
  transport: BusTransport;
  /** Ids of the members (this node included). */
  memberIds(): string[];
  isUp(id: string): boolean;
  busAddress(id: string): PeerAddress | null;
  timeoutMs: number;
  scheduler: Scheduler;
  warn(msg: string): void;
}

/** Wire `acl` to the bus; returns the resend timer to cancel at shutdown. */
export function attachAclCluster(acl: AclStore, d: AclClusterDeps): Cancel {
  acl.selfId = d.selfId;
  ACL.handle(d.transport, (from, args) => {
    const err = acl.applyRemote(decodeEntries(args));
    if (err !== null) d.warn(`ACL from ${from.id} not applied in full: ${err}`);
    return [];
  });
  const send = async (entries: AclEntry[], quiet: boolean): Promise<void> => {
    if (entries.length === 0) return;
    const args = encodeEntries(entries);
    const sends: Promise<unknown>[] = [];
    for (const id of d.memberIds()) {
      const peer = id === d.selfId || !d.isUp(id) ? null : d.busAddress(id);
      if (peer === null) continue;
      sends.push(
        ACL.call(d.transport, peer, args, { timeoutMs: d.timeoutMs }).catch((err: Error) => {
          if (!quiet) d.warn(`ACL change not delivered to ${id}: ${err.message}`);
        }),
      );
    }
    await Promise.all(sends);
  };
  acl.onChange = (entries) => send(entries, false);
  let stopped = false;
  const timer = d.scheduler.every(ACL_RESEND_MS, () => {
    if (!stopped) void send(acl.entries(), true);
  });
  return {
    cancel: () => {
      stopped = true;
      timer.cancel();
    },
  };
}

/** [name, version, origin, line ("" for a deleted user)] per user. */
export function encodeEntries(entries: readonly AclEntry[]): Buffer[] {
  const out: Buffer[] = [];
  for (const e of entries) out.push(Buffer.from(e.name, 'latin1'), Buffer.from(String(e.version)), Buffer.from(e.origin, 'latin1'), Buffer.from(e.line ?? '', 'latin1'));
  return out;
}

export function decodeEntries(args: readonly Buffer[]): AclEntry[] {
  if (args.length % 4 !== 0) throw new Error('acl: [name, version, origin, line] per user');
  const out: AclEntry[] = [];
  for (let i = 0; i < args.length; i += 4) {
    const version = Number(args[i + 1].toString('latin1'));
    if (!Number.isSafeInteger(version)) throw new Error('acl: bad version');
    const line = args[i + 3].toString('latin1');
    out.push({ name: args[i].toString('latin1'), version, origin: args[i + 2].toString('latin1'), line: line === '' ? null : line });
  }
  return out;
}
