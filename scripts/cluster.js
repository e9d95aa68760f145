#!/usr/bin/env node
/**
 * Local development cluster: `npm run cluster` (which builds first) starts N quorumkv nodes
 * on 127.0.0.1, forwards their logs prefixed with the node name, and stops them cleanly on
 * Ctrl-C.
 *
 *   node scripts/cluster.js [--nodes 3] [--base-port 7001] [--engine rocksdb|memory]
 *                           [--dir ./data/cluster] [-- --directive value ...]
 *
 * Node i (1-based) is node-id `node<i>`, listens for clients on base-port + i - 1 and for
 * the cluster bus on that port + 10000, keeps its data under <dir>/node<i>, and is given
 * every node's bus address as seeds. Anything after `--` is passed to every node (e.g.
 * `-- --gossip-interval 200ms --loglevel verbose`).
 *
 * On SIGINT/SIGTERM every node gets SIGTERM and the script waits for all of them to exit
 * (a node that has not exited after STOP_TIMEOUT_MS gets SIGKILL). A node that exits on
 * its own is reported; the others keep running.
 */
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(REPO_ROOT, 'dist', 'src', 'main.js');
const BUS_OFFSET = 10000;
const STOP_TIMEOUT_MS = 15000;
const HOST = '127.0.0.1';

function usage(message) {
  if (message) process.stderr.write(`cluster: ${message}\n`);
  process.stderr.write(
    'usage: node scripts/cluster.js [--nodes N] [--base-port P] [--engine rocksdb|memory] [--dir DIR] [-- --directive value ...]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { nodes: 3, basePort: 7001, engine: null, dir: path.join('data', 'cluster'), extra: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      opts.extra = argv.slice(i + 1);
      break;
    }
    if (a === '-h' || a === '--help') usage();
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${name} needs a value`);
      return argv[++i];
    };
    switch (name) {
      case '--nodes':
        opts.nodes = integer(name, value(), 1, 100);
        break;
      case '--base-port':
        opts.basePort = integer(name, value(), 1, 65535);
        break;
      case '--engine':
        opts.engine = value();
        if (opts.engine !== 'rocksdb' && opts.engine !== 'memory') usage('--engine must be rocksdb or memory');
        break;
      case '--dir':
        opts.dir = value();
        break;
      default:
        usage(`unknown option ${a}`);
    }
  }
  if (opts.basePort + opts.nodes - 1 + BUS_OFFSET > 65535) {
    usage(`--base-port ${opts.basePort} with ${opts.nodes} nodes puts bus ports above 65535`);
  }
  return opts;
}

function integer(name, text, min, max) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) usage(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** Forward a child's output line by line, each line prefixed with the node name. */
function forwardLines(stream, prefix, out) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) out.write(`${prefix}${line}\n`);
  });
  stream.on('end', () => {
    if (pending) out.write(`${prefix}${pending}\n`);
    pending = '';
  });
}

const COLORS = ['\x1b[36m', '\x1b[33m', '\x1b[35m', '\x1b[32m', '\x1b[34m', '\x1b[31m'];

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(MAIN)) {
    process.stderr.write(`cluster: ${path.relative(process.cwd(), MAIN)} not found: run \`npm run build\` first (npm run cluster does)\n`);
    process.exit(1);
  }
  const baseDir = path.resolve(opts.dir);
  const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
  const width = `node${opts.nodes}`.length;

  const specs = [];
  for (let i = 1; i <= opts.nodes; i++) {
    const port = opts.basePort + i - 1;
    specs.push({ name: `node${i}`, port, busPort: port + BUS_OFFSET, dir: path.join(baseDir, `node${i}`) });
  }
  const seeds = specs.map((s) => `${HOST}:${s.busPort}`);

  const children = new Map(); // name -> { child, spec, exited }
  let stopping = false;

  const say = (text) => process.stdout.write(`[cluster] ${text}\n`);

  for (const [idx, spec] of specs.entries()) {
    fs.mkdirSync(spec.dir, { recursive: true });
    const args = [
      MAIN,
      '--port', String(spec.port),
      '--bind', HOST,
      '--bus-port', String(spec.busPort),
      '--dir', spec.dir,
      '--node-id', spec.name,
      ...(opts.engine ? ['--engine', opts.engine] : []),
      '--seeds', ...seeds,
      ...opts.extra,
    ];
    // detached: a node gets its own process group, so a terminal's Ctrl-C reaches only this
    // script, which then stops every node exactly once with SIGTERM.
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const color = useColor ? COLORS[idx % COLORS.length] : '';
    const reset = useColor ? '\x1b[0m' : '';
    const prefix = `${color}${spec.name.padEnd(width)} |${reset} `;
    forwardLines(child.stdout, prefix, process.stdout);
    forwardLines(child.stderr, prefix, process.stderr);
    const entry = { child, spec, exited: false, done: null };
    entry.done = new Promise((resolve) => {
      child.once('error', (err) => {
        say(`${spec.name}: cannot start: ${err.message}`);
        entry.exited = true;
        resolve();
      });
      child.once('exit', (code, signal) => {
        entry.exited = true;
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (!stopping) {
          say(`${spec.name} (pid ${child.pid}, port ${spec.port}) exited unexpectedly with ${how}; the other nodes keep running`);
          if ([...children.values()].every((e) => e.exited)) {
            say('every node has exited');
            process.exitCode = 1;
          }
        } else {
          say(`${spec.name} stopped (${how})`);
        }
        resolve();
      });
    });
    children.set(spec.name, entry);
  }

  say(`started ${opts.nodes} node${opts.nodes === 1 ? '' : 's'}${opts.engine ? ` (engine ${opts.engine})` : ''}:`);
  for (const s of specs) {
    const pid = children.get(s.name).child.pid;
    say(`  ${s.name.padEnd(width)}  client ${HOST}:${s.port}  bus ${HOST}:${s.busPort}  data ${path.relative(process.cwd(), s.dir) || '.'}  pid ${pid ?? '?'}`);
  }
  say(`connect to any node: redis-cli -p ${specs[0].port}   (or ${specs.map((s) => s.port).join(', ')})`);
  say(`see the ring:        redis-cli -p ${specs[0].port} RING NODES`);
  say('press Ctrl-C to stop the cluster');

  const stop = async (sig) => {
    if (stopping) {
      say(`${sig} again: still waiting for the nodes to exit (they get SIGKILL after ${STOP_TIMEOUT_MS / 1000} s)`);
      return;
    }
    stopping = true;
    say(`${sig}: stopping the nodes (SIGTERM)...`);
    const waits = [];
    for (const entry of children.values()) {
      if (entry.exited) continue;
      try {
        entry.child.kill('SIGTERM');
      } catch {
        // already gone
      }
      waits.push(
        Promise.race([entry.done, new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS).unref())]).then(() => {
          if (!entry.exited) {
            say(`${entry.spec.name} did not exit within ${STOP_TIMEOUT_MS / 1000} s: SIGKILL`);
            try {
              entry.child.kill('SIGKILL');
            } catch {
              // already gone
            }
            return entry.done;
          }
          return undefined;
        }),
      );
    }
    await Promise.all(waits);
    say('all nodes stopped');
    process.exit(process.exitCode ?? 0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // If this script dies for another reason, do not leave nodes running behind it.
  process.on('exit', () => {
    for (const entry of children.values()) {
      if (!entry.exited) {
        try {
          entry.child.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
}

main();
