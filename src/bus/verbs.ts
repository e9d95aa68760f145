/**
 * THE table of bus verbs: every message one node sends another is defined here, with its
 * documentation and codec (like the client command table, but for the inside API). Reading
 * this file tells you everything that goes over the bus.
 *
 * To add a verb: `export const REPLICATE = defineVerb<Req, Res>({ ... })` below (a codec for
 * domain values may live beside the type it encodes) and add it to BUS_VERBS. ClusterBus
 * refuses handlers for verbs missing from the table, so the table cannot drift from the code.
 *
 * Wire format (see also messages.ts, server.ts, peer.ts): RESP, the whole connection long.
 * A request is an array of bulk strings `[verb, requestId, ...args]`, a reply
 * `[requestId, 'ok', ...payload]` or `[requestId, 'err', code, message]`. The handshake
 * (hello, then auth) comes first; after it, everything one node sends a peer in one
 * event-loop turn leaves in one socket write (a batch is a run of messages), and so do the
 * replies produced in one turn. A reply with id 0 reports a protocol error just before the
 * sender closes the connection. Replies on one connection may come out of order. Verbs are
 * case-insensitive on the wire. An operator can speak it with redis-cli (docs/cluster.md).
 */
import { BusCodecError } from './errors';
import { codec, defineVerb, verbTable, type AnyVerb } from './verb';
import { fetchCodec, keysCodec, pushCodec, treeCodec, type KeysReply, type KeysRequest, type RecordEntry, type TreeRequest } from '../antientropy/wire';

/** Bumped when the handshake or framing changes incompatibly. */
/**
 * 3: storage format 2 (deltas per cell, key.summary / key.cells): older nodes are refused at the handshake.
 * 4: counter contributions (CELL_COUNTER cells); key.cells names cells by kind byte + field.
 * 5: RESP messages after the handshake instead of binary batch frames (messages.ts); membership
 *    entries carry replaces and streamed, status removing; range transfers (xfer.keys).
 * 6: replicate carries several deltas; tx.exec, tx.watch, block.watch, block.ready.
 * 7: forward and tx.exec carry the client's ACL user; acl.
 */
export const BUS_PROTOCOL_VERSION = 7;
/** Bounds on handshake fields, checked before anything is computed from them. */
export const NONCE_BYTES = 16;
const NODE_ID_MAX_BYTES = 256;
const PROOF_BYTES = 32; // HMAC-SHA256
/** A plain cluster-secret sent as the auth proof by an operator (auth.ts). */
const SECRET_MAX_BYTES = 1024;

export interface HelloRequest {
  nodeId: string;
  nonce: Buffer;
  version: number;
}
export interface HelloResponse {
  nodeId: string;
  nonce: Buffer;
  /** The server has a cluster-secret: an AUTH must follow before anything else. */
  authRequired: boolean;
  version: number;
}

function nodeIdFrom(b: Buffer): string {
  if (b.length === 0 || b.length > NODE_ID_MAX_BYTES) throw new BusCodecError('bad node id');
  return codec.toStr(b);
}

function nonceFrom(b: Buffer): Buffer {
  if (b.length !== NONCE_BYTES) throw new BusCodecError(`nonce must be ${NONCE_BYTES} bytes`);
  return Buffer.from(b);
}

/**
 * An empty proof is allowed on the wire: a peer without a secret sends one, and is refused.
 * A client's proof may also be the plain cluster-secret (an operator's redis-cli; auth.ts).
 */
function proofFrom(b: Buffer, client: boolean): Buffer {
  const ok = client ? b.length <= SECRET_MAX_BYTES : b.length === PROOF_BYTES || b.length === 0;
  if (!ok) throw new BusCodecError(client ? `proof must be at most ${SECRET_MAX_BYTES} bytes` : `proof must be ${PROOF_BYTES} bytes`);
  return Buffer.from(b);
}

export const HELLO = defineVerb<HelloRequest, HelloResponse>({
  name: 'hello',
  doc: 'Handshake, first request on every connection: client node id, client nonce, protocol version. Reply: server node id, server nonce, whether AUTH must follow.',
  reserved: true,
  encodeRequest: (r) => [codec.str(r.nodeId), r.nonce, codec.int(r.version)],
  decodeRequest: (a) => {
    codec.arity(a, 3, 3, 'hello');
    return { nodeId: nodeIdFrom(a[0]), nonce: nonceFrom(a[1]), version: codec.toInt(a[2]) };
  },
  encodeResponse: (r) => [codec.str(r.nodeId), r.nonce, codec.bool(r.authRequired), codec.int(r.version)],
  decodeResponse: (a) => {
    codec.arity(a, 4, 4, 'hello reply');
    return { nodeId: nodeIdFrom(a[0]), nonce: nonceFrom(a[1]), authRequired: codec.toBool(a[2]), version: codec.toInt(a[3]) };
  },
});

export const AUTH = defineVerb<{ proof: Buffer }, { proof: Buffer }>({
  name: 'auth',
  doc: 'Handshake, second request when the server has a cluster-secret: the client proof HMAC(secret, server nonce, client nonce, client id), or (an operator\'s redis-cli, never a node) the plain secret. Reply: the server proof (mutual authentication); a wrong proof is refused and the connection closed.',
  reserved: true,
  encodeRequest: (r) => [r.proof],
  decodeRequest: (a) => {
    codec.arity(a, 1, 1, 'auth');
    return { proof: proofFrom(a[0], true) };
  },
  encodeResponse: (r) => [r.proof],
  decodeResponse: (a) => {
    codec.arity(a, 1, 1, 'auth reply');
    return { proof: proofFrom(a[0], false) };
  },
});

export const PING = defineVerb<Buffer, Buffer>({
  name: 'ping',
  doc: 'Liveness and round-trip probe: the payload comes back unchanged. Served by every ClusterBus.',
  encodeRequest: (payload) => [payload],
  decodeRequest: (a) => {
    codec.arity(a, 1, 1, 'ping');
    return a[0];
  },
  encodeResponse: (payload) => [payload],
  decodeResponse: (a) => {
    codec.arity(a, 1, 1, 'ping reply');
    return a[0];
  },
});

export const GOSSIP = defineVerb<Buffer, null>({
  name: 'gossip',
  doc: 'One gossip message (membership/messages.ts: a SYN with the sender\'s table, or the ACK answering one), as one opaque bulk. Reply: empty; an ACK travels as a request of its own.',
  encodeRequest: (msg) => [msg],
  decodeRequest: (a) => {
    codec.arity(a, 1, 1, 'gossip');
    return a[0];
  },
  encodeResponse: () => [],
  decodeResponse: (a) => {
    codec.arity(a, 0, 0, 'gossip reply');
    return null;
  },
});

/** A verb whose request and reply are plain argument lists, decoded by its handler. */
function rawVerb(name: string, doc: string): ReturnType<typeof defineVerb<Buffer[], Buffer[]>> {
  return defineVerb<Buffer[], Buffer[]>({
    name,
    doc,
    encodeRequest: (a) => a,
    decodeRequest: (a) => a,
    encodeResponse: (a) => a,
    decodeResponse: (a) => a,
  });
}

export const FORWARD = rawVerb(
  'forward',
  'Run a client command at this node, which is a replica of its key (the primary, for a write): [db, resp, w, r, ACL user, ...argv]; the command (and any redis.call of a script) is checked again here against this node\'s copy of the user. Reply: [the RESP reply bytes]. Used when the client\'s node is not the one that must execute.',
);

export const REPLICATE = rawVerb(
  'replicate',
  'Merge deltas into this replica: [db, key, encoded delta (storage/delta.ts)]..., one triple per key a write changed (a transaction, a script, a multi-key command), all merged in one turn. Reply: [] once the merge is durable here (as a client write would be).',
);

export const DIGEST = rawVerb('digest', 'This replica\'s digest of a key: [db, key]. Reply: [16 bytes: MurmurHash3-128 of the metadata parts XOR the cells\' hashes (storage/meta.ts); all zero when it holds nothing].');

export const READ_RECORD = rawVerb('read', 'This replica\'s whole state of a key, every cell included: [db, key]. Reply: [encoded delta], or [] when it holds nothing. For RENAME/COPY across replica sets.');

export const KEY_SUMMARY = rawVerb(
  'key.summary',
  'Key sync (coordinator/key-sync.ts): [db, key]. Reply: [encoded delta: the metadata parts, and every cell when at most 256 are stored; large flag 1/0; for a large key the digests of its non-empty field buckets (u16 index, 16 bytes)...].',
);

export const KEY_CELLS = rawVerb(
  'key.cells',
  'Key sync: [db, key, \'digests\', u16 bucket indices] gives [field, 16-byte cell hash, ...] of the cells in those buckets; [db, key, \'cells\', field...] gives [encoded delta of those fields\' cells].',
);

export const KEYSPACE = rawVerb(
  'keyspace',
  'Keyspace-wide work on this node\'s share of the keys: [op, db, resp, down ids, ...argv]. count: [count]; run (KEYS, SCAN or RANDOMKEY on the share): [reply bytes]; flushdb, flushall: [].',
);

export const HINT = rawVerb(
  'hint',
  'Keep a delta for a replica that is down (sloppy quorum): [owner id, db, key, encoded delta]. Reply: [] once the hint is stored here; an error when the hint store is full. The hint is replayed to the owner (as REPLICATE) when it is back.',
);

export const TX_EXEC = rawVerb(
  'tx.exec',
  'Run a MULTI/EXEC transaction at this node, the primary of its keys: [db, resp, w, r, ACL user, watched count, (key, digest, live 1/0) per watched key, then per queued command: argc, argv...]. Reply: [the RESP reply bytes of EXEC].',
);

export const TX_WATCH = rawVerb(
  'tx.watch',
  'WATCH at the primary of a key: [db, key]. Reply: [16-byte digest of the key here, live 1/0]; EXEC (tx.exec) compares the digest later.',
);

export const BLOCK_WATCH = rawVerb(
  'block.watch',
  'A client of the sender is blocked on a key (BLPOP...): [db, key]. Reply: []. Every change to the key here within a lease of 30 s (renewed by the sender while its client waits) is told to the sender with block.ready.',
);

export const BLOCK_READY = rawVerb('block.ready', 'A key the receiver asked about with block.watch changed: [db, key]. Reply: [].');

export const PUBSUB = rawVerb(
  'pubsub',
  'Pub/sub between nodes (pubsub/service.ts), fire-and-forget: [p, channel, message] a PUBLISH to deliver here; [s, channel, message, relay 1/0] an SPUBLISH reaching an owner (relay 1: also pass it to the nodes interested in the channel) or, relayed, an interested node; [w, channel...] this sender has shard subscribers of these channels (refreshed every 5 s); [u, channel...] it has none left. Reply: [].',
);

export const NODE_STATUS = rawVerb(
  'node.status',
  'This node\'s load, for other nodes\' status pages (http/peer-status.ts): []. Reply: [keys in all databases, engine bytes, hints pending here, their bytes], decimal.',
);

export const SCRIPTING = rawVerb(
  'scripting',
  'A change of the script cache or the function libraries, applied here as a client command would (scripting/engine.ts): [op, ...args] with op script.load [body], script.flush, function.load [replace 0|1, code], function.delete [library], function.flush. Reply: []. Sent by the node that ran SCRIPT LOAD / SCRIPT FLUSH / FUNCTION LOAD / DELETE / FLUSH to every other node.',
);

export const ACL = rawVerb(
  'acl',
  'ACL users: the users a change named, sent by the node where it was made (ACL SETUSER, DELUSER, LOAD), and every stamped user, resent every 10 s by every node (so a node that was down catches up): [name, version, origin node id, ACL LIST line or "" for a deleted user] per user. The receiver applies each user whose (version, origin) is newer than its own for that user: last writer wins, per user (acl/store.ts). Reply: [].',
);

// Anti-entropy (antientropy/: the payloads and their bounds are in wire.ts).

export const AE_TREE = defineVerb<TreeRequest, Buffer[]>({
  name: 'ae.tree',
  doc: 'Anti-entropy: hashes of some nodes of one level of this node\'s Merkle tree of a segment: [segment, level, u32 indices]. Reply: [the 20-byte hashes, concatenated, in the order asked].',
  ...treeCodec,
});

export const AE_KEYS = defineVerb<KeysRequest, KeysReply>({
  name: 'ae.keys',
  doc: 'Anti-entropy: the records this node stores in some token intervals, in engine-key order, one page: [u32 interval bounds, from key, limit, with records]. Reply: [next key or empty, with records, (key, digest[, record])...].',
  ...keysCodec,
});

export const AE_FETCH = defineVerb<Buffer[], (Buffer | null)[]>({
  name: 'ae.fetch',
  doc: 'Anti-entropy: this node\'s records of some keys: [record key...]. Reply: [encoded record, or empty when it has none, per key].',
  ...fetchCodec,
});

export const AE_PUSH = defineVerb<RecordEntry[], number>({
  name: 'ae.push',
  doc: 'Anti-entropy: merge records into this node (the merge rule decides; keys it does not replicate are ignored): [(record key, encoded record)...]. Reply: [how many were applied], once durable here.',
  ...pushCodec,
});

export const XFER_KEYS = defineVerb<KeysRequest, KeysReply>({
  name: 'xfer.keys',
  doc: 'Range transfer (a node gaining ranges pulls them): one page of the records this node stores in some token intervals, in engine-key order, with each record: [u32 interval bounds, from key, limit, 1]. Reply: [next key or empty, 1, (key, empty digest, record)...]; a record of more than 256 cells is LARGE and synced on its own.',
  ...keysCodec,
});

/** Every verb the cluster speaks. Add new verbs here. */
export const BUS_VERBS: readonly AnyVerb[] = [HELLO, AUTH, PING, GOSSIP, FORWARD, REPLICATE, DIGEST, READ_RECORD, KEY_SUMMARY, KEY_CELLS, KEYSPACE, HINT, PUBSUB, SCRIPTING, NODE_STATUS, ACL, AE_TREE, AE_KEYS, AE_FETCH, AE_PUSH, XFER_KEYS, TX_EXEC, TX_WATCH, BLOCK_WATCH, BLOCK_READY];

export const VERB_BY_NAME: ReadonlyMap<string, AnyVerb> = verbTable(BUS_VERBS);
