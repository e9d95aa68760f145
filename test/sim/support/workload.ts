/**
 * The random workload of the cluster simulation: a few clients, each running one command at
 * a time (SET, GET, DEL, INCR) on a small set of keys, so that writes collide, through a
 * node picked at random for every command (mostly among those running). The client side records every operation with its
 * invocation and completion times (simulated) and what it learnt:
 *
 *   ok            — the command succeeded; its result is known (an acknowledged write, or
 *                   a read's value).
 *   refused       — definitely not applied: NOQUORUM "only X up" (checked before anything
 *                   is applied), or the node was down (connection refused).
 *   indeterminate — may or may not have been applied: NOQUORUM after a timeout, the node
 *                   that had to execute did not answer, or the connection was lost when the
 *                   client's node crashed.
 *   failed        — a read that did not answer (NOQUORUM); tells nothing.
 *   unexpected    — any other error: a failure in itself.
 *
 * SET values are unique multiples of a million, so a value names its write (INCR results,
 * small steps above a SET value or above nothing, may repeat; checkers accept any write of
 * the value they see).
 */
import type { ClusterSim } from './cluster-sim';
import { parseReply, type Reply } from './cluster-sim';
import type { Prng } from './prng';

export type OpKind = 'set' | 'get' | 'del' | 'incr';
export type Outcome = 'ok' | 'refused' | 'indeterminate' | 'failed' | 'unexpected' | 'pending';

export interface Op {
  id: number;
  client: number;
  node: string;
  key: string;
  kind: OpKind;
  /** SET's value. */
  arg: string | null;
  invokeMs: number;
  /** When the client learnt the outcome; null while pending. */
  respMs: number | null;
  outcome: Outcome;
  /**
   * What the client learnt: GET's value (null: nil), INCR's new value, DEL's count as a
   * string ('1' or '0').
   */
  result: string | null;
  reply: string;
}

export interface WorkloadOptions {
  clients: number;
  keys: number;
  thinkMinMs: number;
  thinkMaxMs: number;
  /** Relative weights of the commands. */
  mix: Record<OpKind, number>;
}

const REFUSED = /^NOQUORUM (write|read) needs \d+ of \d+ replicas, only \d+ up$/;

export function keyName(i: number): string {
  return `k${i}`;
}

/** The value a write leaves, or undefined if the op wrote nothing (reads, DEL of nothing). */
export function writtenValue(op: Op): { value: string | null } | undefined {
  switch (op.kind) {
    case 'set':
      return { value: op.arg };
    case 'incr':
      return op.outcome === 'ok' ? { value: op.result } : undefined; // unknown result otherwise
    case 'del':
      return op.outcome === 'ok' && op.result === '0' ? undefined : { value: null };
    case 'get':
      return undefined;
  }
}

export class Workload {
  readonly history: Op[] = [];
  private stopped = false;
  private readonly inFlight = new Map<number, Op>();
  private nextOpId = 0;
  private readonly weights: [OpKind, number][];
  private readonly total: number;

  constructor(
    private readonly sim: ClusterSim,
    private readonly rng: Prng,
    readonly opts: WorkloadOptions,
  ) {
    this.weights = (Object.entries(opts.mix) as [OpKind, number][]).filter(([, w]) => w > 0);
    this.total = this.weights.reduce((s, [, w]) => s + w, 0);
    sim.onCrash((id) => this.nodeCrashed(id));
  }

  get keys(): string[] {
    return Array.from({ length: this.opts.keys }, (_, i) => keyName(i));
  }

  start(): void {
    for (let c = 0; c < this.opts.clients; c++) this.next(c);
  }

  /** No new commands; those in flight still complete. */
  stop(): void {
    this.stopped = true;
  }

  pending(): Op[] {
    return [...this.inFlight.values()];
  }

  private next(client: number): void {
    if (this.stopped) return;
    const think = this.rng.between(this.opts.thinkMinMs, this.opts.thinkMaxMs);
    this.sim.sched.after(think, () => this.issue(client));
  }

  private pickKind(): OpKind {
    let x = this.rng.next() * this.total;
    for (const [k, w] of this.weights) {
      if (x < w) return k;
      x -= w;
    }
    return this.weights[this.weights.length - 1]![0];
  }

  private issue(client: number): void {
    if (this.stopped) return;
    // Mostly a node that is up (a client retries elsewhere), sometimes any: a down node refuses.
    const up = this.sim.running();
    const node = up.length > 0 && this.rng.chance(0.8) ? this.rng.pick(up) : this.rng.pick(this.sim.active());
    const key = keyName(this.rng.int(this.opts.keys));
    const kind = this.pickKind();
    const id = this.nextOpId++;
    const arg = kind === 'set' ? String((id + 1) * 1_000_000) : null;
    const op: Op = { id, client, node: node.id, key, kind, arg, invokeMs: this.sim.nowMs, respMs: null, outcome: 'pending', result: null, reply: '' };
    this.history.push(op);
    const inc = node.current;
    if (inc === null || !inc.started) {
      this.finish(op, 'refused', null, 'connection refused');
      return;
    }
    this.inFlight.set(id, op);
    const argv = kind === 'set' ? ['SET', key, arg!] : [kind.toUpperCase(), key];
    this.sim.trace(`c${client} op${id} ${argv.join(' ')} @${node.id}`);
    this.sim.command(inc, node, client, argv).then(
      (buf) => {
        if (this.inFlight.get(id) !== op) return; // the connection was lost meanwhile
        this.inFlight.delete(id);
        this.complete(op, parseReply(buf));
      },
      (err: Error) => {
        if (this.inFlight.get(id) !== op) return;
        this.inFlight.delete(id);
        this.finish(op, 'unexpected', null, `threw: ${err.stack ?? err.message}`);
      },
    );
  }

  private complete(op: Op, r: Reply): void {
    if (r.kind === 'err') {
      const m = r.message;
      if (REFUSED.test(m)) return this.finish(op, 'refused', null, m);
      if (m.startsWith('NOQUORUM')) return this.finish(op, op.kind === 'get' ? 'failed' : 'indeterminate', null, m);
      return this.finish(op, 'unexpected', null, m);
    }
    switch (op.kind) {
      case 'set':
        if (r.kind === 'ok' && r.value === 'OK') return this.finish(op, 'ok', null, 'OK');
        break;
      case 'get':
        if (r.kind === 'bulk') return this.finish(op, 'ok', r.value, r.value ?? '(nil)');
        break;
      case 'incr':
      case 'del':
        if (r.kind === 'int') return this.finish(op, 'ok', String(r.value), String(r.value));
        break;
    }
    this.finish(op, 'unexpected', null, `unexpected reply ${JSON.stringify(r)}`);
  }

  private finish(op: Op, outcome: Outcome, result: string | null, reply: string): void {
    op.outcome = outcome;
    op.result = result;
    op.reply = reply;
    op.respMs = this.sim.nowMs;
    this.sim.trace(`c${op.client} op${op.id} -> ${outcome} ${reply}`);
    this.next(op.client);
  }

  /** The client's connection to a crashed node is gone: what it was waiting for is unknown. */
  private nodeCrashed(id: string): void {
    for (const op of [...this.inFlight.values()]) {
      if (op.node !== id) continue;
      this.inFlight.delete(op.id);
      this.finish(op, op.kind === 'get' ? 'failed' : 'indeterminate', null, 'connection lost (node crashed)');
    }
  }
}
