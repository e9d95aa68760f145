import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CommitLog, decodeFrames, encodeFrame, type LogEntry } from '../../src/storage/commit-log';

const put = (k: string, v: string) => ({ type: 'put' as const, key: Buffer.from(k), value: Buffer.from(v) });
const del = (k: string) => ({ type: 'del' as const, key: Buffer.from(k) });

function tmpLog(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qkv-log-')), 'commit.log');
}

describe('commit log', () => {
  const entries: LogEntry[] = [
    { kind: 'batch', ops: [put('a', '1'), del('b')] },
    { kind: 'flush', db: 3 },
    { kind: 'batch', ops: [put('\u0000\u00ff', '')] },
    { kind: 'flush', db: null },
  ];

  it('round-trips batches and flushes in order', () => {
    const data = Buffer.concat(entries.map(encodeFrame));
    expect(decodeFrames(data)).toEqual(entries);
  });

  it('stops at a torn tail or a corrupt frame', () => {
    const frames = entries.map(encodeFrame);
    const data = Buffer.concat(frames);
    for (let cut = 0; cut < data.length; cut++) {
      const got = decodeFrames(data.subarray(0, cut));
      // Only whole frames come back, as many as fit entirely before the cut.
      let whole = 0;
      let size = 0;
      for (const f of frames) {
        if (size + f.length > cut) break;
        size += f.length;
        whole++;
      }
      expect(got).toEqual(entries.slice(0, whole));
    }
    const corrupt = Buffer.from(data);
    corrupt[frames[0].length + 10] ^= 0xff; // inside the second frame's payload
    expect(decodeFrames(corrupt)).toEqual(entries.slice(0, 1));
  });

  it('keeps what was appended across reopen, and truncates only when told', () => {
    const file = tmpLog();
    const log = new CommitLog(file, 1);
    expect(log.open()).toEqual([]);
    log.append(entries[0]);
    log.append(entries[1]);
    log.close();
    const again = new CommitLog(file, 1);
    expect(again.open()).toEqual(entries.slice(0, 2));
    again.allApplied(); // past maxBytes (1): dropped
    expect(again.bytes).toBe(0);
    again.close();
    expect(new CommitLog(file).open()).toEqual([]);
  });
});
