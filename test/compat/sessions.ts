/**
 * Differential scenarios with several connections: the same scenario runs against a real
 * redis-server and the server under test, one after the other, and the two transcripts
 * (every reply and push frame read, in the order the scenario read them) must be equal
 * byte for byte. For what one connection cannot show: pub/sub between clients, blocking
 * commands woken by another client, WATCH touched by another client.
 *
 * A scenario talks through `Sessions`:
 * - `cmd(i, ...args)`   send on client i and record its reply (pushes stay queued);
 * - `send(i, ...args)`  send without waiting (a blocking command); read it later;
 * - `read(i)`           record the next frame of client i, reply or push;
 * - `quiet(i, ms)`      record that nothing arrives on client i for ms;
 * - `note(text)`        record a label (shows where a difference is);
 * - `keep(buf)`         record a value the scenario computed itself.
 * The runner sends FLUSHALL and resets nothing else: scenarios start with HELLO if they
 * need RESP3.
 */
import { RawClient } from '../support/raw-client';
import { escapeBytes } from '../support/resp-frames';
import { compareReplies, type CompareOptions } from './compare';
import type { Mode } from './script';

type Arg = string | Buffer;

export interface Sessions {
  cmd(i: number, ...args: Arg[]): Promise<Buffer>;
  /** As cmd, with the reply compared in another mode (compare.ts): ids, times, hash order. */
  cmdAs(how: How, i: number, ...args: Arg[]): Promise<Buffer>;
  send(i: number, ...args: Arg[]): void;
  read(i: number): Promise<Buffer>;
  quiet(i: number, ms: number): Promise<void>;
  note(text: string): void;
  keep(value: Buffer | string): void;
  /** The raw client, for what the vocabulary lacks (never recorded). */
  client(i: number): RawClient;
  /**
   * Wait (not recorded) until exactly `count` clients are blocked (INFO clients'
   * blocked_clients, asked on a connection of its own): a blocking command sent with `send`
   * has then reached the server, whatever the machine's load.
   */
  blocked(count: number): Promise<void>;
}

export interface Scenario {
  name: string;
  clients: number;
  run(s: Sessions): Promise<void>;
}

/** How a reply is compared, as a script step says it (script.ts). */
export interface How extends CompareOptions {
  mode: Mode;
}

interface Entry {
  what: string;
  bytes: Buffer;
  how?: How;
}

const NOTHING = Buffer.from('(nothing)');

class Recorder implements Sessions {
  readonly transcript: Entry[] = [];
  private observer: RawClient | null = null;
  constructor(
    private readonly clients: RawClient[],
    private readonly port: number,
  ) {}

  async blocked(count: number): Promise<void> {
    this.observer ??= await RawClient.connect(this.port, { timeoutMs: 5000 });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = (await this.observer.send('INFO', 'clients')).toString('latin1');
      const m = /blocked_clients:(\d+)/.exec(info);
      if (m !== null && Number(m[1]) === count) return;
      if (Date.now() > deadline) throw new Error(`blocked_clients stayed ${m?.[1]}, not ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  close(): void {
    this.observer?.close();
  }

  client(i: number): RawClient {
    return this.clients[i];
  }

  async cmd(i: number, ...args: Arg[]): Promise<Buffer> {
    const bytes = await this.clients[i].send(...args);
    this.transcript.push({ what: `c${i} ${describe(args)}`, bytes });
    return bytes;
  }

  async cmdAs(how: How, i: number, ...args: Arg[]): Promise<Buffer> {
    const bytes = await this.clients[i].send(...args);
    this.transcript.push({ what: `c${i} ${describe(args)}`, bytes, how });
    return bytes;
  }

  send(i: number, ...args: Arg[]): void {
    // Write now; the reply is read (and recorded) by `read`.
    void this.clients[i].sendRaw(encode(args), 0);
    this.transcript.push({ what: `c${i} sent ${describe(args)}`, bytes: Buffer.alloc(0) });
  }

  async read(i: number): Promise<Buffer> {
    const c = this.clients[i];
    const bytes = c.pollFrame() ?? (await c.readFrame());
    this.transcript.push({ what: `c${i} read`, bytes });
    return bytes;
  }

  async quiet(i: number, ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.transcript.push({ what: `c${i} quiet for ${ms} ms`, bytes: this.clients[i].pollFrame() ?? NOTHING });
  }

  note(text: string): void {
    this.transcript.push({ what: `note: ${text}`, bytes: Buffer.alloc(0) });
  }

  keep(value: Buffer | string): void {
    this.transcript.push({ what: 'kept', bytes: Buffer.isBuffer(value) ? value : Buffer.from(value) });
  }
}

function encode(args: Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function describe(args: Arg[]): string {
  return args.map((a) => (Buffer.isBuffer(a) ? escapeBytes(a, 40) : a.length > 40 ? `${a.slice(0, 40)}...` : a)).join(' ');
}

/** Run a scenario on one server; returns its transcript. */
export async function record(scenario: Scenario, port: number): Promise<Entry[]> {
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < scenario.clients; i++) clients.push(await RawClient.connect(port, { timeoutMs: 5000 }));
    await clients[0].send('FLUSHALL');
    const r = new Recorder(clients, port);
    try {
      await scenario.run(r);
    } finally {
      r.close();
    }
    return r.transcript;
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * Run the scenario against the reference and the target; null when the transcripts agree,
 * else a description of the first difference.
 */
export async function compareScenario(scenario: Scenario, refPort: number, targetPort: number): Promise<string | null> {
  const a = await record(scenario, refPort);
  const b = await record(scenario, targetPort);
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    const same = x !== undefined && y !== undefined && x.what === y.what && (x.how === undefined ? x.bytes.equals(y.bytes) : compareReplies(x.how.mode, x.bytes, y.bytes, x.how) === null);
    if (!same) {
      const show = (e: Entry | undefined): string => (e === undefined ? '(transcript ended)' : `${e.what} -> ${escapeBytes(e.bytes)}`);
      const before = a.slice(Math.max(0, i - 3), i).map((e) => `    ${e.what} -> ${escapeBytes(e.bytes, 80)}`).join('\n');
      return `${scenario.name}: step ${i} differs\n  context:\n${before}\n  redis:  ${show(x)}\n  target: ${show(y)}`;
    }
  }
  return null;
}
