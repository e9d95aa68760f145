/**
 * The gossip messages and their wire form (carried by the cluster bus as one bulk string).
 *
 * Push-pull in two messages: a SYN carries the sender's table (its own entry first, then the
 * others, capped); the receiver merges it and answers with an ACK holding its own entry and
 * every entry it has that is newer than the SYN's copy or missing from the SYN (capped).
 * See gossiper.ts for why full entries rather than a digest round.
 *
 * Wire form: WIRE_VERSION byte + UTF-8 JSON {"k":"s"|"a","f":senderId,"m":[member tuples]}.
 */
import { MemberDecodeError, encodeVersioned, memberFromWire, memberToWire, parseVersioned, type Member } from './member';

export type GossipMessageKind = 'syn' | 'ack';

export interface GossipMessage {
  kind: GossipMessageKind;
  /** The sender's node id; its own entry is the first of `members`. */
  from: string;
  members: Member[];
}

export function encodeGossipMessage(msg: GossipMessage): Buffer {
  return encodeVersioned({ k: msg.kind === 'syn' ? 's' : 'a', f: msg.from, m: msg.members.map(memberToWire) });
}

/** Throws MemberDecodeError on anything malformed; the bus logs and drops the message. */
export function decodeGossipMessage(buf: Buffer): GossipMessage {
  const v = parseVersioned(buf);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MemberDecodeError('message is not an object');
  const o = v as Record<string, unknown>;
  if (o.k !== 's' && o.k !== 'a') throw new MemberDecodeError('bad message kind');
  if (typeof o.f !== 'string' || o.f.length === 0) throw new MemberDecodeError('bad sender');
  if (!Array.isArray(o.m)) throw new MemberDecodeError('members is not an array');
  return { kind: o.k === 's' ? 'syn' : 'ack', from: o.f, members: o.m.map(memberFromWire) };
}
