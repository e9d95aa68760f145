/**
 * One row of the membership table, its version order, and its compact wire form.
 *
 * A member's *version* is the pair (generation, heartbeat), compared generation first:
 * the generation grows when a node restarts (the shell persists it and bumps it on start),
 * the heartbeat grows every gossip round while the process runs. Every other field
 * (addresses, dc, rack, vnodes, status) is carried *with* the version: whichever copy has
 * the newer version wins whole. So a node that changes its status also bumps its heartbeat,
 * and the change spreads like any heartbeat does.
 *
 * Wire form: a member is a JSON tuple, so a table digest is small and cheap to parse:
 *   [id, host, port, busPort, dc, rack, vnodes, generation, heartbeat, status, replaces, streamed]
 * (the last two were appended later; a tuple without them reads as '').
 *
 * Statuses (docs/cluster.md "Growing and shrinking"): 'joining' (receiving its ranges; not
 * in the ring yet, writes for its future ranges reach it too), 'normal', 'leaving' (RING
 * LEAVE: still in the ring while its ranges stream to their next owners), 'removing' (RING
 * REMOVE of a dead node, written by the node that ran it: its ranges are re-replicated from
 * the survivors) and 'left' (out of the ring for good).
 * A reader ignores extra trailing elements, so fields may be appended without breaking
 * older nodes; anything incompatible must change WIRE_VERSION (the first byte of an
 * encoded buffer), which older readers refuse loudly instead of misreading.
 */

export type MemberStatus = 'joining' | 'normal' | 'leaving' | 'removing' | 'left';

export const MEMBER_STATUSES: readonly MemberStatus[] = ['joining', 'normal', 'leaving', 'removing', 'left'];

export interface Member {
  /** Stable node id (config `node-id`); the ring derives tokens from it. */
  id: string;
  host: string;
  /** Client (RESP) port. */
  port: number;
  /** Cluster-bus port. */
  busPort: number;
  dc: string;
  rack: string;
  vnodes: number;
  /** Grows on every restart; a higher generation beats any heartbeat of a lower one. */
  generation: number;
  /** Grows every gossip round of the running process; restarts from 0 with a new generation. */
  heartbeat: number;
  status: MemberStatus;
  /** A joining node started with `replace <id>`: the dead node whose place it takes; '' otherwise. */
  replaces: string;
  /**
   * The id of the membership change (transfer plan) whose ranges this node has received in
   * full; '' when it has none. A change completes when every node that gains ranges says so.
   */
  streamed: string;
}

export interface MemberVersion {
  generation: number;
  heartbeat: number;
}

/** Order of versions: negative if a is older than b, 0 if equal, positive if newer. */
export function compareVersions(a: MemberVersion, b: MemberVersion): number {
  if (a.generation !== b.generation) return a.generation < b.generation ? -1 : 1;
  if (a.heartbeat !== b.heartbeat) return a.heartbeat < b.heartbeat ? -1 : 1;
  return 0;
}

/** True if every field but the heartbeat is equal (the ring and routing ignore heartbeats). */
export function sameShape(a: Member, b: Member): boolean {
  return (
    a.id === b.id &&
    a.host === b.host &&
    a.port === b.port &&
    a.busPort === b.busPort &&
    a.dc === b.dc &&
    a.rack === b.rack &&
    a.vnodes === b.vnodes &&
    a.generation === b.generation &&
    a.status === b.status &&
    a.replaces === b.replaces &&
    a.streamed === b.streamed
  );
}

export function copyMember(m: Member): Member {
  return { ...m };
}

// ---------------------------------------------------------------------------------------
// Wire form

export const WIRE_VERSION = 1;

export type WireMember = [string, string, number, number, string, string, number, number, number, MemberStatus, string, string];

export class MemberDecodeError extends Error {
  constructor(message: string) {
    super(`membership decode: ${message}`);
    this.name = 'MemberDecodeError';
  }
}

export function memberToWire(m: Member): WireMember {
  return [m.id, m.host, m.port, m.busPort, m.dc, m.rack, m.vnodes, m.generation, m.heartbeat, m.status, m.replaces, m.streamed];
}

const MAX_STRING = 255;

function str(v: unknown, what: string, allowEmpty: boolean): string {
  if (typeof v !== 'string' || v.length > MAX_STRING || (!allowEmpty && v.length === 0)) {
    throw new MemberDecodeError(`bad ${what}`);
  }
  return v;
}

function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new MemberDecodeError(`bad ${what}`);
  return v;
}

/** Validates one decoded tuple (from JSON) into a Member; throws MemberDecodeError. */
export function memberFromWire(v: unknown): Member {
  if (!Array.isArray(v) || v.length < 10) throw new MemberDecodeError('member is not a tuple of 10');
  const status = v[9];
  if (!MEMBER_STATUSES.includes(status as MemberStatus)) throw new MemberDecodeError('bad status');
  return {
    id: str(v[0], 'id', false),
    host: str(v[1], 'host', false),
    port: int(v[2], 'port', 0, 65535),
    busPort: int(v[3], 'busPort', 0, 65535),
    dc: str(v[4], 'dc', true),
    rack: str(v[5], 'rack', true),
    vnodes: int(v[6], 'vnodes', 1, 65536),
    generation: int(v[7], 'generation', 0, Number.MAX_SAFE_INTEGER),
    heartbeat: int(v[8], 'heartbeat', 0, Number.MAX_SAFE_INTEGER),
    status: status as MemberStatus,
    replaces: v.length > 10 ? str(v[10], 'replaces', true) : '',
    streamed: v.length > 11 ? str(v[11], 'streamed', true) : '',
  };
}

/** Validates a plain object (the persisted JSON form) into a Member. */
export function memberFromObject(v: unknown): Member {
  if (typeof v !== 'object' || v === null) throw new MemberDecodeError('member is not an object');
  const o = v as Record<string, unknown>;
  return memberFromWire([o.id, o.host, o.port, o.busPort, o.dc, o.rack, o.vnodes, o.generation, o.heartbeat, o.status, o.replaces ?? '', o.streamed ?? '']);
}

/** A table digest: WIRE_VERSION byte + UTF-8 JSON array of member tuples. */
export function encodeMembers(members: readonly Member[]): Buffer {
  return encodeVersioned(members.map(memberToWire));
}

export function decodeMembers(buf: Buffer): Member[] {
  const json = parseVersioned(buf);
  if (!Array.isArray(json)) throw new MemberDecodeError('digest is not an array');
  return json.map(memberFromWire);
}

/** Checks the version byte and parses the JSON after it. Shared with the message codec. */
export function parseVersioned(buf: Buffer): unknown {
  if (buf.length < 1) throw new MemberDecodeError('empty buffer');
  if (buf[0] !== WIRE_VERSION) throw new MemberDecodeError(`unsupported wire version ${buf[0]}`);
  try {
    return JSON.parse(buf.subarray(1).toString('utf8')) as unknown;
  } catch {
    throw new MemberDecodeError('invalid JSON');
  }
}

export function encodeVersioned(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  const out = Buffer.allocUnsafe(1 + body.length);
  out[0] = WIRE_VERSION;
  body.copy(out, 1);
  return out;
}
