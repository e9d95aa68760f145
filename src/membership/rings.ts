/**
 * The two rings of a membership table: the one reads and writes use now (`current`), and
 * the one the pending changes lead to (`future`). Pure: a function of the members alone,
 * so every node that has the same table computes the same rings and the same plan id.
 *
 * - current: members whose status is normal, leaving or removing. A joining node is not in
 *   it (it answers no reads: its data is still arriving); a leaving or removed node still
 *   is, until its ranges have reached their next owners.
 * - future: members whose status is joining or normal, minus every node that a joining or
 *   normal member replaces (`replace <id>`); the current ring also loses a node once its
 *   replacement is normal.
 * - A replacement is placed with the replaced node's place and weight (Ring `tokenId`), so
 *   it owns exactly the partitions the dead node owned; a replacement whose dead node gossip
 *   has not told us of yet waits outside both rings.
 * - `pending`: the rings differ. While they do, writes go to the owners in both (the new
 *   owners are "pending" replicas) and every node that gains ranges streams them
 *   (transfer/service.ts); `planId` names this pair of rings, so that nodes can say which
 *   plan they have finished streaming for (Member.streamed).
 */
import { createHash } from 'node:crypto';
import { Ring, type RingMember } from '../ring/ring';
import type { Member } from './member';

export interface Rings {
  current: Ring;
  future: Ring;
  /** The rings differ: some change is under way. */
  pending: boolean;
  /** Names the pair (current, future); '' when nothing is pending. */
  planId: string;
}

/** How deep a chain of replacements (a replacement of a replacement...) is followed. */
const MAX_REPLACE_CHAIN = 64;

export function ringsOf(members: readonly Member[]): Rings {
  const byId = new Map(members.map((m) => [m.id, m]));
  /** The member whose place `m` takes on the ring (itself unless it is a replacement). */
  const placeOf = (m: Member): Member | null => {
    let cur = m;
    for (let i = 0; i < MAX_REPLACE_CHAIN && cur.replaces !== ''; i++) {
      const next = byId.get(cur.replaces);
      if (next === undefined) return null;
      cur = next;
    }
    return cur;
  };
  const ringMember = (m: Member): RingMember | null => {
    const place = placeOf(m);
    if (place === null) return null;
    return place === m ? { id: m.id, dc: m.dc, rack: m.rack, vnodes: m.vnodes } : { id: m.id, dc: m.dc, rack: m.rack, vnodes: place.vnodes, tokenId: place.id };
  };
  // Replaced by a joining node: out of the future ring. By a normal one (the replacement has
  // its data): out of the current ring too, even before its 'left' status has spread.
  const replaced = new Set(members.filter((m) => (m.status === 'joining' || m.status === 'normal') && m.replaces !== '').map((m) => m.replaces));
  const replacedDone = new Set(members.filter((m) => m.status === 'normal' && m.replaces !== '').map((m) => m.replaces));
  const currentMembers: RingMember[] = [];
  const futureMembers: RingMember[] = [];
  for (const m of members) {
    const rm = ringMember(m);
    if (rm === null) continue;
    if ((m.status === 'normal' || m.status === 'leaving' || m.status === 'removing') && !replacedDone.has(m.id)) currentMembers.push(rm);
    if ((m.status === 'joining' || m.status === 'normal') && !replaced.has(m.id)) futureMembers.push(rm);
  }
  const current = Ring.build(currentMembers);
  const futureRing = Ring.build(futureMembers);
  const pending = futureRing.fingerprint !== current.fingerprint;
  const future = pending ? futureRing : current;
  const planId = pending ? createHash('sha1').update(`${current.fingerprint}>${future.fingerprint}`).digest('hex').slice(0, 16) : '';
  return { current, future, pending, planId };
}
