/**
 * CONFIG REWRITE's file algorithm (src/config/rewrite.ts), as Redis's rewriteConfig:
 * comments, blank and unknown lines stay; a directive's first line takes its current value;
 * its later lines go; changed directives missing from the file are appended once after the
 * signature; the rewritten file loads back to the same settings.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REWRITE_SIGNATURE, rewriteConfigFile, rewrittenConfig } from '../../src/config/rewrite';
import { defaultSettings } from '../../src/config/settings';
import { loadSettings } from '../../src/config/load';

describe('CONFIG REWRITE', () => {
  it('keeps comments and order, replaces the first line of a directive, drops its repeats, appends the rest once', () => {
    const s = defaultSettings();
    s.maxclients = 77;
    s.hz = 20;
    s.slowlogLogSlowerThan = 0;
    s.requirepass = 'a b';
    const old = ['# my server', '', 'maxclients 100', '# the tick', 'hz 10', 'maxclients 200', 'timeout 0', ''].join('\n');
    const out = rewrittenConfig(old, s);
    expect(out).toBe(
      ['# my server', '', 'maxclients 77', '# the tick', 'hz 20', 'timeout 0', REWRITE_SIGNATURE, 'requirepass "a b"', 'slowlog-log-slower-than 0', ''].join('\n'),
    );
    // Rewriting again changes nothing and adds no second signature.
    expect(rewrittenConfig(out, s)).toBe(out);
  });

  it('writes lists, percentiles and client-output-buffer-limit so that they load back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkv-rewrite-'));
    const file = join(dir, 'quorumkv.conf');
    writeFileSync(file, '# empty\n');
    const s = defaultSettings();
    s.bind = ['127.0.0.1', '::1'];
    s.latencyTrackingInfoPercentiles = [50, 99.99];
    s.clientOutputBufferLimit = { ...s.clientOutputBufferLimit, pubsub: { hardBytes: 1000, softBytes: 500, softSeconds: 5 } };
    s.dir = '/tmp/some dir';
    expect(rewriteConfigFile(file, s)).toBeNull();
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('bind 127.0.0.1 ::1\n');
    expect(text).toContain('latency-tracking-info-percentiles 50 99.99\n');
    expect(text).toContain('dir "/tmp/some dir"\n');
    const back = loadSettings([file]).settings;
    expect(back.bind).toEqual(s.bind);
    expect(back.latencyTrackingInfoPercentiles).toEqual([50, 99.99]);
    expect(back.clientOutputBufferLimit).toEqual(s.clientOutputBufferLimit);
    expect(back.dir).toBe('/tmp/some dir');
  });

  it('answers Redis\'s error without a config file', () => {
    expect(rewriteConfigFile(null, defaultSettings())).toBe('ERR The server is running without a config file');
  });
});
