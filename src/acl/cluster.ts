/**
 * The ACL across a cluster (bus verb `acl`, bus/verbs.ts): a change made on this node (ACL
 * SETUSER, DELUSER, LOAD) is sent, as the whole ACL, to every node that is up, and the
 * command answers once they have it; every ACL_RESEND_MS each node resends the ACL it holds
 * from a change, so a node that was down or restarted catches up. A receiver applies an ACL
 * only when its (version, origin) is newer than its own (store.ts applyRemote): the last
 * writer wins.
 */
import { ACL } from '../bus/verbs';
import type { BusTransport, PeerAddress } from '../bus/transport';
import type { Cancel, Scheduler } from '../runtime/scheduler';
import type { AclStore } from './store';

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
  ACL.handle(d.transport, (_from, args) => {
    if (args.length < 2) throw new Error('acl: [version, origin, line...]');
    const err = acl.applyRemote(Number(args[0].toString()), args[1].toString('latin1'), args.slice(2).map((b) => b.toString('latin1')));
    if (err !== null) d.warn(`ACL from ${args[1].toString()} not applied: ${err}`);
    return [];
  });
  const send = async (version: number, origin: string, lines: string[], quiet: boolean): Promise<void> => {
    const args = [Buffer.from(String(version)), Buffer.from(origin, 'latin1'), ...lines.map((l) => Buffer.from(l, 'latin1'))];
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
  acl.onChange = (version, lines) => send(version, d.selfId, lines, false);
  let stopped = false;
  const timer = d.scheduler.every(ACL_RESEND_MS, () => {
    if (acl.version > 0 && !stopped) void send(acl.version, acl.versionOrigin, acl.lines(), true);
  });
  return {
    cancel: () => {
      stopped = true;
      timer.cancel();
    },
  };
}
