/**
 * Runs command handlers in-process, without sockets: a Keyspace on the MemoryEngine, a
 * ManualClock and an Hlc, and a CommandContext built from a ReplyWriter, a DbView and
 * minimal ClientState / ServerApi stubs. `run` does what dispatch does for one command
 * (find the spec, check arity, load the spec's keys, run the handler) and returns the
 * reply bytes as a latin1 string, so tests assert exact RESP ('$-1\r\n').
 */
import { defaultSettings, type Settings } from '../../src/config/settings';
import { CommandTable } from '../../src/commands/table';
import type { CommandContext, CommandSpec } from '../../src/commands/types';
import { E } from '../../src/commands/errors';
import { ReplyWriter } from '../../src/resp/writer';
import { ManualClock } from '../../src/runtime/clock';
import type { ClientState } from '../../src/server/client-state';
import type { ServerApi } from '../../src/server/server-api';
import { DbView, Keyspace } from '../../src/storage/keyspace';
import { MemoryEngine } from '../../src/storage/memory-engine';
import { Hlc } from '../../src/versioning/hlc';

export type Arg = string | Buffer;

function toBuf(a: Arg): Buffer {
  return typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
}

export function makeKeyspace(engine: MemoryEngine, clock: ManualClock, nodeTag = 1): Keyspace {
  return new Keyspace(engine, new Hlc(clock), {
    cacheMaxBytes: 64 * 1024 * 1024,
    syncEveryBatch: false,
    tombstoneGraceMs: 0,
    nodeTag,
    nowMs: () => clock.nowMs(),
    onFatal: (err) => {
      throw err;
    },
  });
}

function unused(name: string): never {
  throw new Error(`test harness: ${name} is not stubbed`);
}

export class CommandHarness {
  readonly clock = new ManualClock();
  readonly engine = new MemoryEngine();
  readonly settings: Settings = defaultSettings();
  ks: Keyspace;
  readonly writer = new ReplyWriter();
  /** Keyspace events the commands reported (ServerApi.notify), oldest first. */
  readonly events: { type: string; event: string; key: string; db: number }[] = [];
  private readonly specs = new Map<string, CommandSpec>();
  private readonly table: CommandTable;
  /** Deterministic stand-in for ctx.server.random(); tests may replace it. */
  random: () => number = () => 0.5;
  dbIndex = 0;

  constructor(specs: readonly CommandSpec[]) {
    for (const s of specs) this.specs.set(s.name, s);
    this.table = new CommandTable(specs);
    this.ks = makeKeyspace(this.engine, this.clock);
  }

  async start(): Promise<void> {
    await this.ks.start();
  }

  /** A new Keyspace over the same engine, as after a restart. */
  async reopen(): Promise<Keyspace> {
    await this.ks.quiesce();
    this.ks = makeKeyspace(this.engine, this.clock, 2);
    await this.ks.start();
    return this.ks;
  }

  private views = new Map<number, DbView>();

  private dbView(i: number): DbView {
    let v = this.views.get(i);
    if (v === undefined || v.ks !== this.ks) {
      v = new DbView(this.ks, i);
      this.views.set(i, v);
    }
    return v;
  }

  private context(): CommandContext {
    const harness = this;
    const client: ClientState = {
      id: 1,
      addr: '127.0.0.1:40000',
      laddr: '127.0.0.1:6379',
      createdMs: this.clock.nowMs(),
      name: '',
      libName: '',
      libVersion: '',
      resp: 2,
      authenticated: true,
      dbIndex: this.dbIndex,
      select: (i: number) => {
        harness.dbIndex = i;
      },
      dbView: (i: number) => harness.dbView(i),
      refreshAuth: () => {},
      closeAfterReply: () => {},
      kill: () => {},
      lastCommand: '',
      lastActiveMs: 0,
      queryBufferBytes: () => 0,
      outputBufferBytes: () => 0,
    };
    const server: ServerApi = {
      settings: this.settings,
      keyspace: this.ks,
      table: this.table,
      random: () => harness.random(),
      nowUs: () => this.clock.nowUs(),
      clients: () => [client],
      killClients: () => unused('killClients'),
      describeClient: () => unused('describeClient'),
      info: () => unused('info'),
      configSet: () => unused('configSet'),
      configGet: () => unused('configGet'),
      configResetStat: () => unused('configResetStat'),
      cluster: () => unused('cluster'),
      placement: () => unused('placement'),
      shutdown: () => unused('shutdown'),
      block: () => unused('block'),
      unblock: () => unused('unblock'),
      watch: () => unused('watch'),
      unwatch: () => unused('unwatch'),
      exec: () => unused('exec'),
      notify: (type, event, key, db) => this.events.push({ type, event, key: key.toString('latin1'), db }),
    };
    return { reply: this.writer, db: this.dbView(this.dbIndex), client, server, nowMs: this.clock.nowMs() };
  }

  /** Run one command in the current db; returns the reply bytes as latin1 text. */
  async run(...args: Arg[]): Promise<string> {
    const argv = args.map(toBuf);
    const name = argv[0].toString('latin1').toLowerCase();
    const spec = this.specs.get(name);
    if (spec === undefined || spec.handler === undefined) throw new Error(`no such command in harness: ${name}`);
    if ((spec.arity > 0 && argv.length !== spec.arity) || argv.length < -spec.arity) {
      this.writer.error(E.wrongArity(spec.name));
      return this.writer.take().toString('latin1');
    }
    const ctx = this.context();
    await spec.handler(ctx, argv);
    const out = this.writer.take().toString('latin1');
    if (out === '') throw new Error(`${name} wrote no reply`);
    return out;
  }

  /** Run a command given as one space-separated string (no binary, no empty args). */
  cmd(line: string): Promise<string> {
    return this.run(...line.split(' '));
  }
}

/** RESP encodings for expected replies. */
export const R = {
  ok: '+OK\r\n',
  nil: '$-1\r\n',
  int: (n: number | bigint): string => `:${n}\r\n`,
  bulk: (s: string): string => `$${Buffer.byteLength(s, 'latin1')}\r\n${s}\r\n`,
  err: (s: string): string => `-${s}\r\n`,
  simple: (s: string): string => `+${s}\r\n`,
  arr: (...items: string[]): string => `*${items.length}\r\n${items.join('')}`,
};
