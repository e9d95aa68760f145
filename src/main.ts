#!/usr/bin/env node
/**
 * quorumkv-server [config-file] [--directive value ...]
 * Reads the configuration (refusing to start on any bad directive), starts the node and
 * shuts it down cleanly on SIGTERM/SIGINT.
 */
import { ConfigError, loadSettings } from './config/load';
import { QuorumkvNode } from './node';

function main(): void {
  let loaded;
  try {
    loaded = loadSettings(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(1);
    }
    throw err;
  }
  let node: QuorumkvNode;
  try {
    node = new QuorumkvNode({ settings: loaded.settings, configFile: loaded.configFile, onStopped: () => process.exit(0) });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`*** FATAL CONFIG ERROR (quorumkv) ***\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const onSignal = (sig: string): void => {
    node.log.notice(`Received ${sig} scheduling shutdown...`);
    void node.stop();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  node.start().catch((err: unknown) => {
    node.log.warning(`Failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}

main();
