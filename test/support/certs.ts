/**
 * Throw-away certificates for the TLS tests (and the TLS bus benchmark), made with the
 * `openssl` command line tool into a temporary directory, removed when the process exits.
 * No other test support is imported, so benchmarks/ can use this file too.
 *
 *   ca          the test CA (self-signed)
 *   server      signed by ca; SAN IP:127.0.0.1, DNS:localhost; serverAuth + clientAuth
 *               (a cluster node presents it as a server and as a client)
 *   server-enc  the server key again, encrypted with the pass phrase `keypass`
 *   client      signed by ca; clientAuth (a client certificate for tls-auth-clients)
 *   other-ca    a second, unrelated CA
 *   rogue       signed by other-ca; the same SAN and usages as server
 *   expired     signed by ca, valid until a day before it was issued
 *
 * Each name gives `<name>.crt` and `<name>.key` (the CAs too). Keys are P-256 (fast to make).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface CertSet {
  dir: string;
  /** Path of `<name>.crt` / `<name>.key`. */
  crt(name: CertName): string;
  key(name: CertName): string;
  /** The pass phrase of server-enc.key. */
  keyPass: string;
  /** The file's contents (for ioredis / node:tls options). */
  read(file: string): Buffer;
}

export type CertName = 'ca' | 'server' | 'server-enc' | 'client' | 'other-ca' | 'rogue' | 'expired';

const KEY_PASS = 'keypass';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKeyAndCsr(dir: string, name: string, cn: string): void {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
}

function newCa(dir: string, name: string, cn: string): void {
  openssl(dir, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '3650', '-subj', `/CN=${cn}`,
  ]);
}

function sign(dir: string, name: string, ca: string, ext: string, days: number): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', String(days), '-extfile', `${name}.ext`,
  ]);
}

let cached: CertSet | null = null;

/** Make the set once per test worker (about a second) and reuse it. */
export function makeCerts(): CertSet {
  if (cached !== null) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkv-certs-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const nodeExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n';
  newCa(dir, 'ca', 'quorumkv test CA');
  newCa(dir, 'other-ca', 'some other CA');
  newKeyAndCsr(dir, 'server', 'localhost');
  sign(dir, 'server', 'ca', nodeExt, 365);
  fs.copyFileSync(path.join(dir, 'server.crt'), path.join(dir, 'server-enc.crt'));
  openssl(dir, ['pkey', '-in', 'server.key', '-aes256', '-passout', `pass:${KEY_PASS}`, '-out', 'server-enc.key']);
  newKeyAndCsr(dir, 'client', 'test client');
  sign(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\n', 365);
  newKeyAndCsr(dir, 'rogue', 'localhost');
  sign(dir, 'rogue', 'other-ca', nodeExt, 365);
  newKeyAndCsr(dir, 'expired', 'localhost');
  sign(dir, 'expired', 'ca', nodeExt, -1);
  cached = {
    dir,
    crt: (name) => path.join(dir, `${name}.crt`),
    key: (name) => path.join(dir, `${name}.key`),
    keyPass: KEY_PASS,
    read: (file) => fs.readFileSync(file),
  };
  return cached;
}
