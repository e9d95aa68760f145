/**
 * Challenge–response over cluster-secret; between nodes the secret itself never travels.
 *
 *   client → server  hello  clientId, clientNonce, version
 *   server → client  ok     serverId, serverNonce, authRequired
 *   client → server  auth   HMAC(secret, "client", serverNonce, clientNonce, clientId)
 *   server → client  ok     HMAC(secret, "server", clientNonce, serverNonce, serverId)
 *
 * Both nonces are fresh per connection, so a recorded proof is useless on another
 * connection; the labels keep a server proof from being replayed as a client proof; the
 * node ids bind each proof to the identity it claims. Fields are length-prefixed so no two
 * different field lists hash the same bytes. Proofs are compared with timingSafeEqual.
 *
 * An operator with redis-cli cannot compute an HMAC over a binary nonce by hand, so the
 * server also accepts the plain cluster-secret as the auth argument, as Redis's AUTH takes
 * a password (docs/cluster.md, "Talking to the bus"). A node never sends it that way, so
 * node-to-node traffic does not expose it; an operator who types it sends it in clear text
 * (on an untrusted network, tunnel the bus port). Guessing it online is no easier than
 * guessing a proof: either way each guess costs a connection and a refusal in the log.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

function mac(secret: string, label: string, fields: Buffer[]): Buffer {
  const h = createHmac('sha256', secret);
  const len = Buffer.allocUnsafe(4);
  for (const f of [Buffer.from(label, 'latin1'), ...fields]) {
    len.writeUInt32BE(f.length, 0);
    h.update(len);
    h.update(f);
  }
  return h.digest();
}

export function clientProof(secret: string, serverNonce: Buffer, clientNonce: Buffer, clientId: string): Buffer {
  return mac(secret, 'quorumkv-bus client', [serverNonce, clientNonce, Buffer.from(clientId, 'utf8')]);
}

export function serverProof(secret: string, clientNonce: Buffer, serverNonce: Buffer, serverId: string): Buffer {
  return mac(secret, 'quorumkv-bus server', [clientNonce, serverNonce, Buffer.from(serverId, 'utf8')]);
}

/**
 * Whether `got` is the secret itself (an operator's `auth` from redis-cli). Both sides are
 * hashed first, so the comparison takes the same time whatever the lengths.
 */
export function plainSecretMatches(secret: string, got: Buffer): boolean {
  if (secret === '') return false;
  const want = createHash('sha256').update(Buffer.from(secret, 'utf8')).digest();
  return timingSafeEqual(want, createHash('sha256').update(got).digest());
}

/** Constant-time comparison; false for different lengths (including an empty proof). */
export function proofMatches(expected: Buffer, got: Buffer): boolean {
  return expected.length === got.length && timingSafeEqual(expected, got);
}
