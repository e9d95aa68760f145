/**
 * config/tls.ts: tls-* settings → node:tls options and Redis's start-up reasons, without
 * sockets (the files come from test/support/certs.ts).
 */
import { describe, expect, it } from 'vitest';
import { busTlsOptions, checkTlsSettings, clientPortOptions, parseTlsProtocols, tlsInUse } from '../../src/config/tls';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { makeCerts } from '../support/certs';

function settings(over: Partial<Settings>): Settings {
  return { ...defaultSettings(), ...over };
}

describe('parseTlsProtocols', () => {
  it.each([
    ['', { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' }],
    ['TLSv1.2 TLSv1.3', { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' }],
    ['TLSv1.3', { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }],
    ['tlsv1.2', { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }],
    ['TLSv1.3  TLSv1', { minVersion: 'TLSv1', maxVersion: 'TLSv1.3' }],
    ['TLSv1.1', { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' }],
    ['TLSv1.2 SSLv3', null],
    ['TLSv1.4', null],
  ] as const)('%j', (text, want) => {
    expect(parseTlsProtocols(text)).toEqual(want);
  });
});

describe('TLS options from settings', () => {
  const c = makeCerts();
  const base = { tlsPort: 6390, tlsCertFile: c.crt('server'), tlsKeyFile: c.key('server'), tlsCaCertFile: c.crt('ca') };

  it('is in use with a tls-port or tls-cluster only', () => {
    expect(tlsInUse(defaultSettings())).toBe(false);
    expect(tlsInUse(settings({ tlsPort: 1 }))).toBe(true);
    expect(tlsInUse(settings({ tlsCluster: 'yes' }))).toBe(true);
  });

  it('the client port asks for certificates unless tls-auth-clients no, and checks them itself', () => {
    for (const [mode, requestCert] of [['yes', true], ['optional', true], ['no', false]] as const) {
      const o = clientPortOptions(settings({ ...base, tlsAuthClients: mode }));
      expect(o.requestCert).toBe(requestCert);
      expect(o.rejectUnauthorized).toBe(false);
      expect(o.minVersion).toBe('TLSv1.2');
      expect(o.maxVersion).toBe('TLSv1.3');
    }
  });

  it('tls-ciphers replaces the TLS 1.2 list and keeps the default TLS 1.3 suites, and the other way round', () => {
    const only12 = clientPortOptions(settings({ ...base, tlsCiphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).ciphers ?? '';
    expect(only12.split(':').filter((x) => !x.startsWith('TLS_'))).toEqual(['ECDHE-ECDSA-AES128-GCM-SHA256']);
    expect(only12).toContain('TLS_AES_256_GCM_SHA384');
    const only13 = clientPortOptions(settings({ ...base, tlsCiphersuites: 'TLS_CHACHA20_POLY1305_SHA256' })).ciphers ?? '';
    expect(only13.split(':').filter((x) => x.startsWith('TLS_'))).toEqual(['TLS_CHACHA20_POLY1305_SHA256']);
    expect(only13).toContain('ECDHE-ECDSA-AES128-GCM-SHA256');
    expect(clientPortOptions(settings(base)).ciphers).toBeUndefined();
  });

  it('session settings: no tickets with tls-session-caching no, the timeout otherwise; server cipher order', () => {
    const off = clientPortOptions(settings({ ...base, tlsSessionCaching: 'no', tlsPreferServerCiphers: 'yes' }));
    expect(off.secureOptions).toBeGreaterThan(0);
    expect(off.honorCipherOrder).toBe(true);
    expect(clientPortOptions(settings({ ...base, tlsSessionCacheTimeout: 60 })).sessionTimeout).toBe(60);
  });

  it('the bus presents tls-client-cert-file when set, and always requires a peer certificate', () => {
    const b = busTlsOptions(settings({ ...base, tlsCluster: 'yes', tlsAuthClients: 'no', tlsClientCertFile: c.crt('client'), tlsClientKeyFile: c.key('client') }));
    expect(b.server.requestCert).toBe(true);
    expect(b.server.cert).toEqual(c.read(c.crt('server')));
    expect(b.client.cert).toEqual(c.read(c.crt('client')));
    expect(b.client.rejectUnauthorized).toBe(true);
    expect(b.client.checkServerIdentity?.('anything', {} as never)).toBeUndefined();
  });

  it.each([
    [{ tlsCertFile: '' }, 'No tls-cert-file configured!'],
    [{ tlsKeyFile: '' }, 'No tls-key-file configured!'],
    [{ tlsCaCertFile: '' }, 'Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!'],
    [{ tlsProtocols: 'TLSv2' }, "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."],
    [{ tlsCiphers: 'NOPE' }, 'Failed to configure ciphers: NOPE'],
    [{ tlsCiphersuites: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, 'Failed to configure ciphersuites: ECDHE-ECDSA-AES128-GCM-SHA256'],
    [{ tlsCertFile: '/no/such.crt' }, /^Failed to load certificate: \/no\/such\.crt: /],
    [{ tlsKeyFile: '/no/such.key' }, /^Failed to load private key: \/no\/such\.key: /],
    [{ tlsKeyFile: 'KEY_OF_CLIENT' }, /^Failed to load private key: .*client\.key: .*/],
    [{ tlsCaCertDir: '/no/such/dir' }, /^Failed to configure CA certificate\(s\) file\/directory: /],
    [{ tlsCertFile: 'SERVER_ENC_CRT', tlsKeyFile: 'SERVER_ENC_KEY' }, /^Failed to load private key: .*server-enc\.key: /],
  ] as const)('refuses %j', (over, reason) => {
    const fix = (v: unknown): unknown =>
      v === 'KEY_OF_CLIENT' ? c.key('client') : v === 'SERVER_ENC_CRT' ? c.crt('server-enc') : v === 'SERVER_ENC_KEY' ? c.key('server-enc') : v;
    const s = settings({ ...base, ...Object.fromEntries(Object.entries(over).map(([k, v]) => [k, fix(v)])) });
    expect(() => checkTlsSettings(s)).toThrow(reason);
  });

  it('an encrypted key loads with its pass phrase; tls-auth-clients no needs no CA', () => {
    expect(() => checkTlsSettings(settings({ ...base, tlsCertFile: c.crt('server-enc'), tlsKeyFile: c.key('server-enc'), tlsKeyFilePass: c.keyPass }))).not.toThrow();
    expect(() => checkTlsSettings(settings({ ...base, tlsCaCertFile: '', tlsAuthClients: 'no' }))).not.toThrow();
    expect(() => checkTlsSettings(settings({ ...base, tlsCaCertFile: '', tlsAuthClients: 'no', tlsCluster: 'yes' }))).toThrow(/Either tls-ca-cert-file/);
  });
});
