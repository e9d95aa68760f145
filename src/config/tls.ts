/**
 * TLS settings → node:tls options, for the client port (tls-port) and the cluster bus
 * (tls-cluster). Redis's directives and semantics (docs/tls.md):
 *
 * - tls-cert-file / tls-key-file (+ tls-key-file-pass): the certificate this node presents,
 *   to clients and, on the bus, to peers both ways (tls-client-cert-file / -key-file, when
 *   set, are presented instead on the outgoing bus connections).
 * - tls-ca-cert-file / tls-ca-cert-dir: the CAs client and peer certificates must chain to;
 *   required (as in Redis) whenever tls-auth-clients is not `no` or tls-cluster is on.
 * - tls-auth-clients: yes (a valid client certificate is required), optional (none is fine,
 *   but one that is presented must be valid), no (none is asked for).
 * - tls-protocols ("TLSv1.2 TLSv1.3"), tls-ciphers (TLS 1.2 list), tls-ciphersuites (TLS 1.3),
 *   tls-prefer-server-ciphers, tls-dh-params-file, tls-session-caching and
 *   tls-session-cache-timeout. node:tls takes a protocol range, so "TLSv1.2 TLSv1.3"-style
 *   lists are read as the range from the lowest to the highest named version.
 *
 * Every check reads the files at once, so a bad directive stops start-up (and a bad CONFIG
 * SET is refused) with the reason Redis logs: TlsSetupError's message is Redis's log line.
 * Pure of sockets: the server and the bus build their listeners and connectors from these.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { constants as cryptoConstants } from 'node:crypto';
import { createSecureContext, DEFAULT_CIPHERS, type ConnectionOptions, type SecureContextOptions, type SecureVersion, type TLSSocket, type TlsOptions } from 'node:tls';
import type { Settings } from './settings';

/** Redis's last start-up line when TLS cannot be configured. */
export const TLS_SETUP_FAILED = 'Failed to configure TLS. Check logs for more info.';
/** Redis's CONFIG SET refusal when new tls-* values do not load. */
export const TLS_UPDATE_FAILED = 'Unable to update TLS configuration. Check server logs.';

export class TlsSetupError extends Error {}

/** The settings this module reads (CONFIG SET checks a candidate copy before committing). */
export type TlsSettings = Pick<
  Settings,
  | 'tlsPort'
  | 'tlsCertFile'
  | 'tlsKeyFile'
  | 'tlsKeyFilePass'
  | 'tlsClientCertFile'
  | 'tlsClientKeyFile'
  | 'tlsClientKeyFilePass'
  | 'tlsDhParamsFile'
  | 'tlsCaCertFile'
  | 'tlsCaCertDir'
  | 'tlsAuthClients'
  | 'tlsCluster'
  | 'tlsReplication'
  | 'tlsProtocols'
  | 'tlsCiphers'
  | 'tlsCiphersuites'
  | 'tlsPreferServerCiphers'
  | 'tlsSessionCaching'
  | 'tlsSessionCacheTimeout'
>;

/** Whether anything listens or connects with TLS (and so whether the files must load). */
export function tlsInUse(s: TlsSettings): boolean {
  // tls-replication has no effect here, but Redis checks the files when it is on, and so do we.
  return s.tlsPort !== 0 || s.tlsCluster === 'yes' || s.tlsReplication === 'yes';
}

const VERSIONS: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** tls-protocols as a version range; empty: TLSv1.2 to TLSv1.3 (Redis's default); null: invalid. */
export function parseTlsProtocols(text: string): { minVersion: SecureVersion; maxVersion: SecureVersion } | null {
  const words = text.split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' };
  let lo = VERSIONS.length;
  let hi = -1;
  for (const w of words) {
    const i = VERSIONS.findIndex((v) => v.toLowerCase() === w.toLowerCase());
    if (i < 0) return null;
    lo = Math.min(lo, i);
    hi = Math.max(hi, i);
  }
  return { minVersion: VERSIONS[lo], maxVersion: VERSIONS[hi] };
}

/** node:tls's `ciphers` holds both lists: TLS_* names are TLS 1.3 suites, the rest the TLS 1.2 list. */
function cipherOption(s: TlsSettings): string | undefined {
  if (s.tlsCiphers === '' && s.tlsCiphersuites === '') return undefined;
  const defaults = DEFAULT_CIPHERS.split(':');
  const suites = s.tlsCiphersuites !== '' ? s.tlsCiphersuites : defaults.filter((c) => c.startsWith('TLS_')).join(':');
  const list = s.tlsCiphers !== '' ? s.tlsCiphers : defaults.filter((c) => !c.startsWith('TLS_')).join(':');
  return `${suites}:${list}`;
}

function readOr(file: string, what: (err: Error) => string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsSetupError(what(err as Error));
  }
}

/** The reason part of a node/OpenSSL error, as Redis prints OpenSSL's. */
function reason(err: unknown): string {
  const e = err as { message?: string; reason?: string };
  return e.reason ?? e.message ?? String(err);
}

function loadCas(s: TlsSettings): Buffer[] {
  const cas: Buffer[] = [];
  const fail = (err: Error): string => `Failed to configure CA certificate(s) file/directory: ${err.message}`;
  if (s.tlsCaCertFile !== '') cas.push(readOr(s.tlsCaCertFile, fail));
  if (s.tlsCaCertDir !== '') {
    let names: string[];
    try {
      names = readdirSync(s.tlsCaCertDir).sort();
    } catch (err) {
      throw new TlsSetupError(fail(err as Error));
    }
    // OpenSSL's hashed directory (c_rehash) or plain PEM files: every regular file holding a certificate.
    for (const n of names) {
      const file = path.join(s.tlsCaCertDir, n);
      try {
        if (!statSync(file).isFile()) continue;
      } catch {
        continue;
      }
      const pem = readOr(file, fail);
      if (pem.includes('-----BEGIN CERTIFICATE-----')) cas.push(pem);
    }
  }
  return cas;
}

interface Identity {
  cert: Buffer;
  key: Buffer;
  passphrase?: string;
}

function loadIdentity(certFile: string, keyFile: string, pass: string): Identity {
  const cert = readOr(certFile, (err) => `Failed to load certificate: ${certFile}: ${err.message}`);
  try {
    createSecureContext({ cert });
  } catch (err) {
    throw new TlsSetupError(`Failed to load certificate: ${certFile}: ${reason(err)}`);
  }
  const key = readOr(keyFile, (err) => `Failed to load private key: ${keyFile}: ${err.message}`);
  const id: Identity = pass !== '' ? { cert, key, passphrase: pass } : { cert, key };
  try {
    createSecureContext(id);
  } catch (err) {
    throw new TlsSetupError(`Failed to load private key: ${keyFile}: ${reason(err)}`);
  }
  return id;
}

/** The options shared by both ends: versions, ciphers, CAs, DH parameters. Throws TlsSetupError. */
function commonOptions(s: TlsSettings): SecureContextOptions {
  const versions = parseTlsProtocols(s.tlsProtocols);
  if (versions === null) throw new TlsSetupError("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
  const needsCa = s.tlsAuthClients !== 'no' || s.tlsCluster === 'yes' || s.tlsReplication === 'yes';
  if (needsCa && s.tlsCaCertFile === '' && s.tlsCaCertDir === '') {
    throw new TlsSetupError('Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!');
  }
  const o: SecureContextOptions = { ...versions };
  if (s.tlsCiphers !== '') {
    try {
      createSecureContext({ ciphers: s.tlsCiphers });
    } catch {
      throw new TlsSetupError(`Failed to configure ciphers: ${s.tlsCiphers}`);
    }
  }
  if (s.tlsCiphersuites !== '') {
    try {
      if (s.tlsCiphersuites.split(':').some((c) => !c.startsWith('TLS_'))) throw new Error('not a TLS 1.3 suite');
      createSecureContext({ ciphers: s.tlsCiphersuites, minVersion: 'TLSv1.3' });
    } catch {
      throw new TlsSetupError(`Failed to configure ciphersuites: ${s.tlsCiphersuites}`);
    }
  }
  const ciphers = cipherOption(s);
  if (ciphers !== undefined) o.ciphers = ciphers;
  if (s.tlsCaCertFile !== '' || s.tlsCaCertDir !== '') {
    const ca = loadCas(s);
    try {
      createSecureContext({ ca });
    } catch (err) {
      throw new TlsSetupError(`Failed to configure CA certificate(s) file/directory: ${reason(err)}`);
    }
    o.ca = ca;
  }
  if (s.tlsDhParamsFile !== '') {
    o.dhparam = readOr(s.tlsDhParamsFile, (err) => `Failed to load ${s.tlsDhParamsFile}: ${err.message}`);
  }
  return o;
}

function serverExtras(s: TlsSettings): TlsOptions {
  const o: TlsOptions = { honorCipherOrder: s.tlsPreferServerCiphers === 'yes' };
  if (s.tlsSessionCaching === 'no') o.secureOptions = cryptoConstants.SSL_OP_NO_TICKET;
  else if (s.tlsSessionCacheTimeout > 0) o.sessionTimeout = s.tlsSessionCacheTimeout;
  return o;
}

/**
 * Options of the tls-port listener. Certificates are asked for but checked by the server
 * (clientRefusal) after the handshake rather than by node:tls, which would drop a client
 * with a bad certificate without telling anyone: this way every refusal is counted and logged.
 */
export function clientPortOptions(s: TlsSettings): TlsOptions {
  requireIdentity(s);
  const common = commonOptions(s);
  const o: TlsOptions = { ...common, ...loadIdentity(s.tlsCertFile, s.tlsKeyFile, s.tlsKeyFilePass), ...serverExtras(s) };
  o.requestCert = s.tlsAuthClients !== 'no';
  o.rejectUnauthorized = false;
  return o;
}

/** Redis checks that the files are named before anything else. */
function requireIdentity(s: TlsSettings): void {
  if (s.tlsCertFile === '') throw new TlsSetupError('No tls-cert-file configured!');
  if (s.tlsKeyFile === '') throw new TlsSetupError('No tls-key-file configured!');
  if (s.tlsClientCertFile !== '' && s.tlsClientKeyFile === '') throw new TlsSetupError('No tls-client-key-file configured!');
}

/**
 * The cluster bus's two ends: both present a certificate and require the other's, chained
 * to the configured CAs (whatever tls-auth-clients says, as Redis does for its bus). Peer
 * names are not checked against the certificate (nodes are addressed by whatever address
 * gossip carries): the CA is the trust boundary, and cluster-secret still applies on top.
 */
export function busTlsOptions(s: TlsSettings): { server: TlsOptions; client: ConnectionOptions } {
  requireIdentity(s);
  const common = commonOptions(s);
  const serverId = loadIdentity(s.tlsCertFile, s.tlsKeyFile, s.tlsKeyFilePass);
  const clientId = s.tlsClientCertFile !== '' ? loadIdentity(s.tlsClientCertFile, s.tlsClientKeyFile, s.tlsClientKeyFilePass) : serverId;
  return {
    // The bus server checks socket.authorized itself (peerRefusal), to log every refused peer.
    server: { ...common, ...serverId, ...serverExtras(s), requestCert: true, rejectUnauthorized: false },
    client: { ...common, ...clientId, rejectUnauthorized: true, checkServerIdentity: () => undefined },
  };
}

/** Check the TLS setup when anything uses it (start-up, CONFIG SET), as Redis's tlsConfigure. Throws TlsSetupError. */
export function checkTlsSettings(s: TlsSettings): void {
  if (!tlsInUse(s)) return;
  clientPortOptions(s);
  if (s.tlsClientCertFile !== '') busTlsOptions(s);
}

/**
 * Why a client that finished the TLS handshake on tls-port is refused, or null to serve it.
 * yes: it must have presented a certificate that verifies against the CAs; optional: none is
 * fine, but one that is presented must verify (as OpenSSL's SSL_VERIFY_PEER without
 * FAIL_IF_NO_PEER_CERT refuses it in Redis); no: nothing was asked.
 */
export function clientRefusal(socket: TLSSocket, authClients: TlsSettings['tlsAuthClients']): string | null {
  if (authClients === 'no' || socket.authorized) return null;
  const peer = socket.getPeerCertificate();
  const presented = peer !== null && Object.keys(peer).length > 0;
  if (!presented) return authClients === 'yes' ? 'peer did not return a certificate' : null;
  return `certificate verify failed: ${String(socket.authorizationError ?? 'unknown')}`;
}

/** Why a peer that finished the TLS handshake on the bus is refused (it must present a valid certificate), or null. */
export function peerRefusal(socket: TLSSocket): string | null {
  return clientRefusal(socket, 'yes');
}
