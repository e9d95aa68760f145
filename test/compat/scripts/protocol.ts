/**
 * Protocol-level behaviour, written as raw bytes: inline commands (quoting, escapes, empty
 * lines), requests split across writes, pipelining, and malformed RESP. For every case the
 * replies must match and so must the fate of the connection: after a protocol error Redis
 * replies `-ERR Protocol error: ...` and closes; a step declared 'open' is followed by a
 * PING that must answer +PONG (which also proves both servers consumed the same bytes).
 */
import { raw, script, type Script } from '../script';

const closed = { after: 'closed' as const };
/** PROTO_INLINE_MAX_SIZE: the longest line Redis buffers while looking for its end. */
const INLINE_MAX = 64 * 1024;

export const protocolScripts: Script[] = [
  script('protocol: inline commands', [
    raw('PING\r\n'),
    raw('PING\n'),
    raw('ping\r\n'),
    raw('PING hello\r\n'),
    raw('SET a b\r\n'),
    ['GET', 'a'],
    raw('SET "a b" \'c\'\r\n'),
    ['GET', 'a b'],
    raw('SET "x\\x41\\n" \'it\\\'s\'\r\n'),
    ['GET', 'xA\n'],
    raw('  SET   spaced    value  \r\n'),
    ['GET', 'spaced'],
    raw('SET tabbed\tvalue\r\n'),
    ['GET', 'tabbed'],
    raw('ECHO ""\r\n'),
    raw("ECHO ''\r\n"),
    raw('ECHO "\\u"\r\n'),
    raw('ECHO "a\\tb\\nc\\rd\\be\\af\\\\g\\"h"\r\n'),
    raw('ECHO "\\xzz"\r\n'),
    raw('ECHO "\\x41\\x4A\\x4a"\r\n'),
    raw('ECHO "\\xff"\r\n'),
    raw("ECHO 'a\\nb'\r\n"),
    raw('ECHO \xff\xfe\r\n'),
    raw('ECHO "a"\r\n'),
    raw('ECHO a"b"\r\n'),
    raw('ECHO ' + 'a'.repeat(1000) + '\r\n'),
    raw('\r\n\r\nPING\r\n'),
    raw('\n\nPING\r\n'),
    raw('   \r\nPING\r\n'),
    raw('FOO a b\r\n'),
    raw('get\r\n'),
    raw('""\r\n'),
    raw("''\r\n"),
    raw('$4\r\n'),
    raw(':1\r\n'),
    raw('+PING\r\n'),
    raw('PING\r\nPING\r\nECHO x\r\n', { replies: 3 }),
  ]),

  script('protocol: multibulk requests', [
    raw('*1\r\n$4\r\nPING\r\n'),
    raw('*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\r\n\r\n'),
    raw('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n'),
    ['GET', 'k'],
    raw('*-5\r\nPING\r\n'),
    raw('*0\r\nPING\r\n'),
    raw('*-1\r\n*1\r\n$4\r\nPING\r\n'),
    // Redis skips the two bytes after a bulk payload without checking they are CRLF.
    raw('*1\r\n$4\r\nPINGxx'),
    raw('*2\r\n$4\r\nECHO\r\n$3\r\nabcXY'),
    raw('*1\r\n$0\r\n\r\n'),
    raw('*2\r\n$0\r\n\r\n$1\r\nx\r\n'),
    raw('*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n', { replies: 3 }),
    raw('PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nECHO x\r\n', { replies: 3 }),
    raw(['*3\r\n$3\r\nSE', 'T\r\n$1\r\nk\r\n$3\r\nv', 'al\r\n']),
    ['GET', 'k'],
    raw(Array.from('*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n')),
    raw(['PI', 'NG\r', '\n']),
    raw(['*1\r', '\n$4\r', '\nPING\r', '\n']),
  ]),

  script('protocol: malformed input closes the connection', [
    raw('SET "a b\r\n', closed),
    raw("SET 'a\r\n", closed),
    raw('SET "a"b c\r\n', closed),
    raw("SET 'a'b c\r\n", closed),
    raw('*1\r\n$abc\r\n', closed),
    raw('*abc\r\n', closed),
    raw('*1\r\nPING\r\n', closed),
    raw('*1\r\n*1\r\n', closed),
    raw('*1\r\n:1\r\n', closed),
    raw('*1\r\n$536870913\r\n', closed),
    raw('*1\r\n$-1\r\n', closed),
    raw('*1\r\n$-5\r\n', closed),
    raw('*2147483648\r\n', closed),
    raw('*1\n$4\r\nPING\r\n', closed),
    raw('*1\r\n$4\nPING\r\n', closed),
    raw('*1 \r\n$4\r\nPING\r\n', closed),
    raw('*+1\r\n$4\r\nPING\r\n', closed),
    raw('*01\r\n$4\r\nPING\r\n', closed),
    raw('*1\r\n$ 4\r\nPING\r\n', closed),
    raw('*1\r\n$4 \r\nPING\r\n', closed),
    raw('*1\r\n$04\r\nPING\r\n', closed),
    raw('*1\r\n$+4\r\nPING\r\n', closed),
    // Counts up to INT_MAX are accepted; the next byte must then be '$'.
    raw('*1073741825\r\n*1\r\n', closed),
    raw('*2147483647\r\n+\r\n', closed),
    // One byte over the 64 KB limit, so the server has read everything when it closes
    // (unread input would turn its close into a reset that can eat the error reply).
    raw('a'.repeat(INLINE_MAX + 1), closed),
    raw('*' + '1'.repeat(INLINE_MAX), closed),
    raw('*1\r\n$' + '1'.repeat(INLINE_MAX), closed),
    // Redis looks for a line's CR (or an inline line's LF) with strchr, which stops at a
    // NUL: the line never ends, and past 64 KB it is too big (fuzz seed 1).
    raw('*1\x00\r\n' + '1'.repeat(INLINE_MAX), closed),
    raw('*1\r\n$\x00\r\n' + '1'.repeat(INLINE_MAX), closed),
    raw('*2\r\n$4\r\nECHO\r\n$3\x00\r\nabc\r\n' + '1'.repeat(INLINE_MAX), closed),
    raw('PING\x00\r\n' + 'a'.repeat(INLINE_MAX), closed),
    raw('PING\r\n*1\r\n$x\r\n', { replies: 2, after: 'closed' }),
    raw('*1\r\n$4\r\nPING\r\n*abc\r\nPING\r\n', { replies: 3, after: 'closed' }),
    raw('SET k v\r\nQUIT\r\nPING\r\n', { replies: 3, after: 'closed' }),
    ['GET', 'k'],
  ]),
  // An HTTP request on the client port (cross-protocol scripting): Redis's "post" and
  // "host:" commands drop the connection without a word, with every reply of the same read.
  script('protocol: HTTP requests are dropped', [
    raw('POST / HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 0\r\n\r\n', { replies: 0, after: 'closed' }),
    raw('PING\r\nSET http 1\r\nHost: evil.example\r\n', { replies: 0, after: 'closed' }),
    raw('*1\r\n$5\r\nhost:\r\n', { replies: 0, after: 'closed' }),
    raw('*2\r\n$4\r\npOsT\r\n$1\r\n/\r\n', { replies: 0, after: 'closed' }),
    // The SET ran before the connection was dropped; only its reply was lost.
    ['GET', 'http'],
    ['POSTS'],
    ['HOST'],
  ]),
];
