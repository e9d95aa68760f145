/**
 * What the cluster simulation checks, as functions of the recorded history and of the
 * cluster's final state. Each returns a list of violations (empty: fine); the test prints
 * them with the seed.
 *
 * THE READ-BACK RULE (R + W > N, sloppy quorum off). Writes are SET (value), INCR (its new
 * value) and DEL (no value, "nil"); a DEL that returned 0 wrote nothing. For a write w:
 *   - acknowledged: the client got its success reply at resp(w); it took effect (was
 *     stamped) before that;
 *   - indeterminate (timed out, node crashed under the client): it may have taken effect,
 *     at the latest by lastExec(w) = invoke(w) + maxDelay + 2 × request-timeout (forwarding,
 *     then a read phase of digests and records, each bounded by the timeout);
 *   - refused (NOQUORUM "only X up", node down): never took effect.
 * A write a *supersedes* w when a was acknowledged and invoked after w's effect:
 *   invoke(a) > end(w) + 2 × maxSkew, with end(w) = resp(w) if w was acknowledged, else
 *   lastExec(w). (Last-writer-wins by HLC stamp: a write invoked after w's stamp was taken
 *   gets a higher stamp unless clocks disagree, by at most 2 × maxSkew. With concurrent
 *   clients nothing more can be promised: of two overlapping writes either may win.)
 * Then:
 *   1. Final read-back: after healing and repair, the value of every key is that of a
 *      write (or the initial nil) not superseded by any acknowledged write. In particular an
 *      acknowledged write survives unless a later acknowledged write replaced it, a refused
 *      write never appears, and nothing is invented.
 *   2. Reads on the way (every acknowledged GET; an acknowledged DEL that returned 0 read
 *      nil; an acknowledged INCR returning v read v-1, or nil for 1): the value read is that
 *      of a write invoked before the read completed and not superseded by a write that was
 *      acknowledged before the read was invoked.
 * An indeterminate INCR's value is unknown: it may explain a value x = y + k (k at most the
 * number of indeterminate INCRs on the key) where y is a value the key could hold, or nil (0).
 *
 * CONVERGENCE. After healing and the repair steps: every node answers the same value for a
 * key at CONSISTENCY ALL; every owner of the key stores the same record (same digest); with
 * sloppy quorum off no other node stores it.
 *
 * BOUNDS. Every queue stayed within its bound for the whole run (high-water marks sampled at
 * every quiet point): requests in flight and their bytes per peer, handlers and waiting
 * requests per inbound link, messages in the network, hints per node and bytes per target.
 * (Every keyspace's group-commit queue drains at every quiet point: the simulation's settle
 * step waits for it and fails the run if it never does.)
 *
 * LIVENESS. Every client command is answered within a bound after the faults end; none
 * ends in an error a client should never see.
 */
import { writtenValue, type Op } from './workload';

/** One thing a checker found wrong. `op`: the read that saw it; `key`/`seen`: what and where. */
export interface Violation {
  text: string;
  key?: string;
  op?: Op;
  seen?: string | null;
}

export interface RuleParams {
  /** Clocks may disagree by up to 2 × this. */
  maxSkewMs: number;
  requestTimeoutMs: number;
  maxDelayMs: number;
}

interface Write {
  op: Op | null; // null: the initial state (nil)
  value: string | null;
  /** INCR whose result is unknown (indeterminate): value is a wildcard. */
  wildcard: boolean;
  acked: boolean;
  invokeMs: number;
  /** The latest time its effect can have been stamped. */
  endMs: number;
  respMs: number;
}

function writesOf(history: readonly Op[], key: string, p: RuleParams): Write[] {
  const out: Write[] = [{ op: null, value: null, wildcard: false, acked: true, invokeMs: -Infinity, endMs: -Infinity, respMs: -Infinity }];
  for (const op of history) {
    if (op.key !== key || op.kind === 'get') continue;
    if (op.outcome !== 'ok' && op.outcome !== 'indeterminate') continue;
    const acked = op.outcome === 'ok';
    const lastExec = op.invokeMs + p.maxDelayMs + 2 * p.requestTimeoutMs;
    if (op.kind === 'incr' && !acked) {
      out.push({ op, value: null, wildcard: true, acked: false, invokeMs: op.invokeMs, endMs: lastExec, respMs: op.respMs ?? Infinity });
      continue;
    }
    const w = writtenValue(op);
    if (w === undefined) continue;
    out.push({ op, value: w.value, wildcard: false, acked, invokeMs: op.invokeMs, endMs: acked ? op.respMs! : lastExec, respMs: op.respMs ?? Infinity });
  }
  return out;
}

/** w is superseded, as seen by an observation invoked at `obsInvokeMs`. */
function superseded(w: Write, writes: readonly Write[], obsInvokeMs: number, p: RuleParams): Write | null {
  const slack = 2 * p.maxSkewMs;
  for (const a of writes) {
    if (a === w || !a.acked || a.op === null) continue;
    if (a.invokeMs > w.endMs + slack && a.respMs < obsInvokeMs) return a;
  }
  return null;
}

/** Writes that could explain value `x` seen by an observation [obsInvokeMs, obsRespMs]. */
function explains(x: string | null, writes: readonly Write[], obsInvokeMs: number, obsRespMs: number, p: RuleParams): boolean {
  const live = (w: Write): boolean => w.invokeMs < obsRespMs && superseded(w, writes, obsInvokeMs, p) === null;
  if (writes.some((w) => !w.wildcard && w.value === x && live(w))) return true;
  // An indeterminate INCR whose result we never learnt, applied on top of something; or an
  // acknowledged INCR whose primary had not seen a concurrent SET: its +1 lands on the SET's
  // value (counters.ts: increments stamped after a SET by a node that missed it add to it).
  if (x === null || !/^-?\d+$/.test(x)) return false;
  const wild = writes.filter((w) => (w.wildcard || w.op?.kind === 'incr') && live(w));
  if (wild.length === 0) return false;
  const n = Number(x);
  for (let k = 1; k <= wild.length; k++) {
    const base = n - k;
    if (base === 0) return true;
    if (writes.some((w) => !w.wildcard && w.value !== null && Number(w.value) === base && w.invokeMs < obsRespMs)) return true;
  }
  return false;
}

function describeKeyHistory(history: readonly Op[], key: string, max = 40): string {
  const ops = history.filter((o) => o.key === key && o.outcome !== 'refused');
  const shown = ops.slice(-max);
  const lines = shown.map(
    (o) => `    op${o.id} c${o.client}@${o.node} ${o.kind.toUpperCase()}${o.arg !== null ? ' ' + o.arg : ''} [${rel(o.invokeMs)}, ${o.respMs === null ? '…' : rel(o.respMs)}] ${o.outcome} ${o.reply}`,
  );
  return (ops.length > max ? `    (${ops.length - max} earlier ops not shown)\n` : '') + lines.join('\n');
}

let epochForDisplay = 0;
export function setDisplayEpoch(ms: number): void {
  epochForDisplay = ms;
}
function rel(ms: number): string {
  return String(ms - epochForDisplay);
}

/** Checker 1: the final value of every key (read at ALL, after repair) is allowed. */
export function checkFinalValues(history: readonly Op[], finals: ReadonlyMap<string, string | null>, p: RuleParams): Violation[] {
  const out: Violation[] = [];
  for (const [key, x] of finals) {
    const writes = writesOf(history, key, p);
    if (!explains(x, writes, Infinity, Infinity, p)) {
      const lastAcked = writes.filter((w) => w.acked && w.op !== null).map((w) => `op${w.op!.id}`);
      out.push({
        key,
        seen: x,
        text:
          `final value of ${key} is ${x === null ? 'nil' : x}, which no write that was not superseded explains ` +
          `(acknowledged writes: ${lastAcked.slice(-6).join(', ') || 'none'})\n${describeKeyHistory(history, key)}`,
      });
    }
  }
  return out;
}

/** Checker 2: every successful read saw an allowed value. */
export function checkReads(history: readonly Op[], p: RuleParams): Violation[] {
  const out: Violation[] = [];
  const byKey = new Map<string, Write[]>();
  const writesFor = (key: string): Write[] => {
    let w = byKey.get(key);
    if (w === undefined) byKey.set(key, (w = writesOf(history, key, p)));
    return w;
  };
  for (const op of history) {
    if (op.outcome !== 'ok') continue;
    let seen: string | null;
    if (op.kind === 'get') seen = op.result;
    else if (op.kind === 'del' && op.result === '0') seen = null;
    else if (op.kind === 'incr') seen = op.result === '1' ? null : String(Number(op.result) - 1);
    else continue;
    const writes = writesFor(op.key).filter((w) => w.op !== op);
    if (!explains(seen, writes, op.invokeMs, op.respMs!, p)) {
      const what = op.kind === 'get' ? 'GET' : op.kind === 'del' ? 'DEL (returned 0)' : `INCR (returned ${op.result})`;
      out.push({
        op,
        key: op.key,
        seen,
        text: `op${op.id} ${what} of ${op.key} at [${rel(op.invokeMs)}, ${rel(op.respMs!)}] saw ${seen === null ? 'nil' : seen}, which no write that was not superseded explains\n${describeKeyHistory(history, op.key)}`,
      });
    }
  }
  return out;
}

/** Operations still waiting for an answer long after the workload stopped: a liveness failure. */
export function checkAllAnswered(pending: readonly Op[]): string[] {
  return pending.map((o) => `op${o.id} ${o.kind.toUpperCase()} ${o.key} invoked at ${rel(o.invokeMs)} on ${o.node} never got an answer`);
}

/**
 * The counter rule (storage/counters.ts), for workloads of INCRs only: the final value of a
 * key is at least the number of its acknowledged INCRs (none lost, whatever the partitions
 * and sloppy quorum did) and at most that plus the INCRs of unknown outcome (none
 * invented; a refused one never counts).
 */
export function checkCounters(history: readonly Op[], finals: ReadonlyMap<string, string | null>): string[] {
  const out: string[] = [];
  const keys = new Set(history.map((o) => o.key));
  for (const key of keys) {
    const incrs = history.filter((o) => o.key === key && o.kind === 'incr');
    const acked = incrs.filter((o) => o.outcome === 'ok').length;
    const unknown = incrs.filter((o) => o.outcome === 'indeterminate').length;
    if (!finals.has(key)) continue; // no final read: the convergence checker says so
    const v = finals.get(key);
    const value = v === null || v === undefined ? 0 : Number(v);
    if (value < acked) out.push(`${key}: ${value} after ${acked} acknowledged INCRs: ${acked - value} lost`);
    if (value > acked + unknown) out.push(`${key}: ${value} after ${acked} acknowledged and ${unknown} unknown INCRs: ${value - acked - unknown} invented`);
  }
  return out;
}

/** Operations that ended in an error no client should ever see. */
export function checkNoUnexpected(history: readonly Op[]): string[] {
  return history.filter((o) => o.outcome === 'unexpected').map((o) => `op${o.id} ${o.kind.toUpperCase()} ${o.key} on ${o.node}: ${o.reply}`);
}

export interface KeyState {
  key: string;
  owners: readonly string[];
  /** Value each node answered at CONSISTENCY ALL (string, null for nil, or an error text in `errors`). */
  reads: ReadonlyMap<string, string | null>;
  errors: ReadonlyMap<string, string>;
  /** Digest (hex) of each node's stored record; 'none' when the node holds nothing. */
  digests: ReadonlyMap<string, string>;
}

/** Checker 3: after healing and repair, every replica agrees. */
export function checkConvergence(states: readonly KeyState[]): string[] {
  const out: string[] = [];
  for (const s of states) {
    for (const [node, e] of s.errors) out.push(`${s.key}: GET at ALL through ${node} failed after healing: ${e}`);
    const values = new Set([...s.reads.values()].map((v) => (v === null ? '(nil)' : v)));
    if (values.size > 1) out.push(`${s.key}: nodes answer different values at ALL: ${[...s.reads].map(([n, v]) => `${n}=${v ?? 'nil'}`).join(' ')}`);
    const ownerDigests = new Set(s.owners.map((o) => s.digests.get(o)));
    if (ownerDigests.size > 1) out.push(`${s.key}: owners ${s.owners.join(',')} store different records: ${s.owners.map((o) => `${o}=${(s.digests.get(o) ?? '?').slice(0, 8)}`).join(' ')}`);
    for (const [node, d] of s.digests) {
      if (!s.owners.includes(node) && d !== 'none') out.push(`${s.key}: ${node} is not an owner (${s.owners.join(',')}) but stores a record`);
    }
  }
  return out;
}

export interface BoundSample {
  name: string;
  highWater: number;
  bound: number;
}

/** Checker 4: every queue stayed within its bound. */
export function checkBounds(samples: readonly BoundSample[]): string[] {
  return samples.filter((s) => s.highWater > s.bound).map((s) => `${s.name} reached ${s.highWater}, above its bound ${s.bound}`);
}

