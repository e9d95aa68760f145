/**
 * The tls-* directives on a server without TLS in use (the compat pair has none): the same
 * names and defaults as Redis 7.0.15, the same refusals of bad values, and, as in Redis,
 * any file names accepted while nothing uses them. TLS itself: test/integration/tls*.test.ts.
 */
import { script, unorderedPairs, type Script } from '../script';

export const tlsScripts: Script[] = [
  script('tls: CONFIG GET and SET of the tls-* directives without TLS in use', [
    unorderedPairs('CONFIG', 'GET', 'tls-*'),
    ['CONFIG', 'GET', 'tls-port'],
    ['CONFIG', 'GET', 'TLS-AUTH-CLIENTS'],
    ['CONFIG', 'SET', 'tls-auth-clients', 'maybe'],
    ['CONFIG', 'SET', 'tls-prefer-server-ciphers', 'maybe'],
    ['CONFIG', 'SET', 'tls-session-caching', '1'],
    ['CONFIG', 'SET', 'tls-session-cache-size', 'abc'],
    ['CONFIG', 'SET', 'tls-session-cache-size', '-1'],
    ['CONFIG', 'SET', 'tls-session-cache-timeout', '-5'],
    ['CONFIG', 'SET', 'tls-port', '70000'],
    ['CONFIG', 'SET', 'tls-port', '-1'],
    // Nothing uses TLS: names and values are kept without being loaded.
    ['CONFIG', 'SET', 'tls-cert-file', '/no/such/file.crt'],
    ['CONFIG', 'SET', 'tls-ciphers', 'NOPE'],
    ['CONFIG', 'SET', 'tls-protocols', 'TLSv1.3'],
    ['CONFIG', 'SET', 'tls-auth-clients', 'optional', 'tls-session-cache-size', '100'],
    unorderedPairs('CONFIG', 'GET', 'tls-*'),
    // Turning TLS on with those fails and changes nothing.
    ['CONFIG', 'SET', 'tls-replication', 'yes'],
    ['CONFIG', 'GET', 'tls-replication'],
    ['CONFIG', 'SET', 'tls-cert-file', '', 'tls-ciphers', '', 'tls-protocols', '', 'tls-auth-clients', 'yes', 'tls-session-cache-size', '20480'],
    unorderedPairs('CONFIG', 'GET', 'tls-*'),
  ]),
];
