/**
 * The sample configuration files a user copies (config/quorumkv.conf, config/cluster/*.conf)
 * load without errors and say what their comments claim.
 */
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load';

describe('sample configuration files', () => {
  it('config/quorumkv.conf is a standalone node on the embedded defaults', () => {
    const { settings } = loadSettings(['config/quorumkv.conf']);
    expect(settings.seeds).toEqual([]);
    expect(settings.engine).toBe('rocksdb');
  });

  it.each(['node1', 'node2', 'node3'])('config/cluster/%s.conf is one node of a 3-node cluster', (name) => {
    const { settings } = loadSettings([`config/cluster/${name}.conf`]);
    expect(settings.nodeId).toBe(name);
    expect(settings.seeds).toHaveLength(3);
    expect(settings.replicas).toBe(3);
    expect([settings.writeQuorum, settings.readQuorum]).toEqual([2, 2]);
    expect(settings.sloppyQuorum).toBe('yes');
    expect(settings.hintWindow).toBe(3 * 3_600_000);
  });
});
