/**
 * The harness's reply-boundary scanner, fed whole, byte by byte, and back to back, for every
 * RESP2/RESP3 type. If this is wrong, every compatibility result is suspect.
 */
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeCommand, escapeBytes, FrameError, isPush, scanFrame } from './resp-frames';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** One complete frame of each kind, as a server would send it. */
const FRAMES: Array<[string, string]> = [
  ['simple string', '+OK\r\n'],
  ['empty simple string', '+\r\n'],
  ['error', '-ERR unknown command\r\n'],
  ['integer', ':-9223372036854775808\r\n'],
  ['bulk', '$5\r\nhello\r\n'],
  ['empty bulk', '$0\r\n\r\n'],
  ['bulk holding CRLF', '$4\r\n\r\n\r\n\r\n'],
  ['null bulk', '$-1\r\n'],
  ['array', '*2\r\n$1\r\na\r\n:1\r\n'],
  ['empty array', '*0\r\n'],
  ['null array', '*-1\r\n'],
  ['nested array', '*2\r\n*1\r\n+x\r\n*0\r\n'],
  ['null', '_\r\n'],
  ['double', ',3.14\r\n'],
  ['boolean', '#t\r\n'],
  ['big number', '(3492890328409238509324850943850943825024385\r\n'],
  ['blob error', '!21\r\nSYNTAX invalid syntax\r\n'],
  ['verbatim', '=15\r\ntxt:Some string\r\n'],
  ['map', '%2\r\n$1\r\na\r\n:1\r\n+b\r\n_\r\n'],
  ['set', '~2\r\n+a\r\n+b\r\n'],
  ['push', '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n'],
  ['attribute then reply', '|1\r\n+ttl\r\n:3\r\n*2\r\n:1\r\n:2\r\n'],
  ['map of aggregates', '%1\r\n*1\r\n+k\r\n~1\r\n%0\r\n'],
];

describe('scanFrame', () => {
  it.each(FRAMES)('finds the end of a whole %s', (_name, text) => {
    expect(scanFrame(b(text))).toBe(b(text).length);
  });

  it.each(FRAMES)('reports every proper prefix of %s as incomplete', (_name, text) => {
    const bytes = b(text);
    for (let n = 0; n < bytes.length; n++) expect(scanFrame(bytes.subarray(0, n))).toBe(-1);
  });

  it('cuts a stream of all frames back to back, fed one byte at a time', () => {
    const stream = b(FRAMES.map(([, text]) => text).join(''));
    const frames: string[] = [];
    let buffer = Buffer.alloc(0);
    for (const byte of stream) {
      buffer = Buffer.concat([buffer, Buffer.from([byte])]);
      const end = scanFrame(buffer);
      if (end !== -1) {
        frames.push(buffer.subarray(0, end).toString('latin1'));
        buffer = buffer.subarray(end);
      }
    }
    expect(frames).toEqual(FRAMES.map(([, text]) => text));
    expect(buffer.length).toBe(0);
  });

  it('scans from an offset', () => {
    const bytes = b('+OK\r\n:12\r\n');
    expect(scanFrame(bytes, 5)).toBe(bytes.length);
    expect(scanFrame(bytes, bytes.length)).toBe(-1);
  });

  it('does not take a lone CR as a line end', () => {
    expect(scanFrame(b('+a\rb\r\n'))).toBe(6);
    expect(scanFrame(b('+a\r'))).toBe(-1);
  });

  it.each([
    ['unknown type byte', 'x\r\n'],
    ['non-numeric length', '$abc\r\n'],
    ['length below -1', '*-2\r\n'],
    ['null verbatim', '=-1\r\n'],
    ['null map', '%-1\r\n'],
    ['bulk without CRLF after payload', '$2\r\nabXY'],
  ])('rejects %s', (_name, text) => {
    expect(() => scanFrame(b(text))).toThrow(FrameError);
  });
});

describe('decodeFrame', () => {
  it('keeps payload bytes and raw bytes', () => {
    const frame = decodeFrame(b('*3\r\n$2\r\n\x00\xff\r\n:5\r\n$-1\r\n'));
    expect(frame.type).toBe('*');
    expect(frame.items.map((i) => i.type)).toEqual(['$', ':', '$']);
    expect(frame.items[0].value).toEqual(Buffer.from([0, 255]));
    expect(frame.items[1].value?.toString()).toBe('5');
    expect(frame.items[2].value).toBeNull();
    expect(frame.items[1].raw.toString()).toBe(':5\r\n');
  });

  it('flattens maps into key, value, key, value', () => {
    const frame = decodeFrame(b('%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n'));
    expect(frame.items.map((i) => i.value?.toString())).toEqual(['a', '1', 'b', '2']);
  });

  it('attaches an attribute to the frame it annotates', () => {
    const frame = decodeFrame(b('|1\r\n+key\r\n+val\r\n:7\r\n'));
    expect(frame.type).toBe(':');
    expect(frame.attribute?.items.map((i) => i.value?.toString())).toEqual(['key', 'val']);
    expect(frame.raw.toString()).toBe('|1\r\n+key\r\n+val\r\n:7\r\n');
  });

  it('decodes null reply and null array', () => {
    expect(decodeFrame(b('_\r\n')).value).toBeNull();
    expect(decodeFrame(b('*-1\r\n'))).toMatchObject({ type: '*', value: null, items: [] });
  });

  it('rejects trailing bytes and incomplete input', () => {
    expect(() => decodeFrame(b('+OK\r\n+OK\r\n'))).toThrow(FrameError);
    expect(() => decodeFrame(b('$3\r\nab'))).toThrow(FrameError);
  });
});

describe('helpers', () => {
  it('isPush recognises push frames only', () => {
    expect(isPush(b('>1\r\n+x\r\n'))).toBe(true);
    expect(isPush(b('*1\r\n+x\r\n'))).toBe(false);
  });

  it('encodes commands as multibulk, binary-safe', () => {
    expect(encodeCommand(['SET', Buffer.from([0, 13, 10]), '']).toString('latin1')).toBe(
      '*3\r\n$3\r\nSET\r\n$3\r\n\x00\r\n\r\n$0\r\n\r\n',
    );
  });

  it('escapes bytes readably and truncates', () => {
    expect(escapeBytes(b('+OK\r\n'))).toBe('"+OK\\r\\n"');
    expect(escapeBytes(Buffer.from([0, 0xff, 0x22, 0x5c]))).toBe('"\\x00\\xff\\"\\\\"');
    expect(escapeBytes(b('abcdef'), 3)).toBe('"abc...(6 bytes)"');
  });
});
