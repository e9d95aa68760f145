/**
 * Runs a compatibility script against two servers — the reference (a real redis-server)
 * and the target — on one fresh connection each, step by step in lockstep, and reports
 * every step whose observations differ.
 *
 * An observation is what a client could see: the raw reply frames, any push frames that
 * arrived meanwhile, and the state of the connection after the step. Declared connection
 * expectations ('closed' after QUIT or a protocol error, 'open' after a raw step) are also
 * checked against the reference, so a wrong script fails redis-vs-redis instead of
 * silently passing. After a declared close both sides reconnect and the script goes on; a
 * step that leaves either connection in any other state than declared ends the script,
 * since later steps could only report noise.
 */
import { RawClient, ConnectionClosedError } from '../support/raw-client';
import { decodeFrame, encodeCommand, escapeBytes } from '../support/resp-frames';
import { compareReplies } from './compare';
import type { Arg, Script, Step } from './script';

const CLOSE_WAIT_MS = 5_000;
const SCAN_ITERATIONS_MAX = 100_000;

export interface Side {
  name: string;
  port: number;
}

interface Observation {
  replies: Buffer[];
  pushes: Buffer[];
  /** 'open' | 'closed', or a description of what the open-probe got instead of +PONG. */
  after: string;
  /** A harness-level failure (timeout, malformed frame), never expected. */
  failure?: string;
}

export interface Mismatch {
  stepIndex: number;
  step: Step;
  reason: string;
  reference: Observation;
  target: Observation;
}

export interface ScriptResult {
  mismatches: Mismatch[];
  /** Set if the script had to stop early. */
  abortedAt?: number;
  stepsRun: number;
}

export interface RunOptions {
  /** Bound on waiting for a declared close; default 5 s. */
  closeWaitMs?: number;
}

export async function runScript(script: Script, reference: Side, target: Side, opts: RunOptions = {}): Promise<ScriptResult> {
  const closeWaitMs = opts.closeWaitMs ?? CLOSE_WAIT_MS;
  const connect = (): Promise<[RawClient, RawClient]> =>
    Promise.all([RawClient.connect(reference.port), RawClient.connect(target.port)]);
  let [ref, tgt] = await connect();
  const steps: Step[] = [{ kind: 'command', args: ['FLUSHALL'], mode: 'exact' }, ...script.steps];
  const mismatches: Mismatch[] = [];
  let stepsRun = 0;
  try {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const [a, b] = await Promise.all([observe(ref, step, closeWaitMs), observe(tgt, step, closeWaitMs)]);
      stepsRun++;
      const reason = compareObservations(step, a, b);
      if (reason) mismatches.push({ stepIndex: i, step, reason, reference: a, target: b });
      if (i === steps.length - 1) break;
      const expected = expectedAfter(step);
      const asExpected = (o: Observation): boolean => o.failure === undefined && o.after === expected;
      if (!asExpected(a) || !asExpected(b)) return { mismatches, abortedAt: i, stepsRun };
      if (expected === 'closed') {
        // A declared close (QUIT, protocol error): carry on with fresh connections.
        ref.close();
        tgt.close();
        [ref, tgt] = await connect();
      }
    }
    return { mismatches, stepsRun };
  } finally {
    ref.close();
    tgt.close();
  }
}

function expectedAfter(step: Step): 'open' | 'closed' {
  if (step.kind === 'raw') return step.after;
  if (step.kind === 'command' && step.after) return step.after;
  return 'open';
}

function compareObservations(step: Step, a: Observation, b: Observation): string | null {
  if (a.failure) return `reference failed: ${a.failure}`;
  if (b.failure) return `target failed: ${b.failure}`;
  const expected = expectedAfter(step);
  if (a.after !== expected) return `script expects the connection ${expected} after this step, but the reference left it ${a.after}`;
  if (a.replies.length !== b.replies.length) return `reply counts differ (${a.replies.length} vs ${b.replies.length})`;
  for (let i = 0; i < a.replies.length; i++) {
    const opts = step.kind === 'command' ? { tolerance: step.tolerance, vary: step.vary, members: step.members, distinct: step.distinct } : {};
    const mode = step.kind === 'command' ? step.mode : 'exact';
    const r = compareReplies(mode, a.replies[i], b.replies[i], opts);
    if (r) return a.replies.length > 1 ? `reply #${i + 1}: ${r}` : r;
  }
  if (a.pushes.length !== b.pushes.length || a.pushes.some((p, i) => !p.equals(b.pushes[i]))) return 'push frames differ';
  if (a.after !== b.after) return `connection ${a.after} on reference but ${b.after} on target`;
  return null;
}

async function observe(client: RawClient, step: Step, closeWaitMs: number): Promise<Observation> {
  const obs: Observation = { replies: [], pushes: [], after: 'open' };
  try {
    if (step.kind === 'command') {
      obs.replies.push(await client.send(...step.args));
      if (step.after === 'closed') obs.after = (await client.waitClosed(closeWaitMs)) ? 'closed' : 'open';
    } else if (step.kind === 'scan-all') {
      obs.replies.push(await scanAllKeys(client, step.options));
    } else if (step.kind === 'hscan-all') {
      obs.replies.push(await hscanAllPairs(client, step.key, step.options, step.command));
    } else if (step.kind === 'sscan-all') {
      obs.replies.push(await sscanAllMembers(client, step.key, step.options));
    } else {
      obs.replies.push(...(await client.sendRaw(step.pieces, step.replies)));
      obs.after = step.after === 'closed' ? await closedWithin(client, closeWaitMs) : await probeOpen(client);
    }
  } catch (err) {
    if (err instanceof ConnectionClosedError) obs.after = 'closed';
    else obs.failure = (err as Error).message;
  }
  if (client.closed && obs.after === 'open') obs.after = 'closed';
  obs.pushes.push(...client.pushes.splice(0));
  return obs;
}

async function closedWithin(client: RawClient, closeWaitMs: number): Promise<string> {
  return (await client.waitClosed(closeWaitMs)) ? 'closed' : 'open';
}

/** Prove the connection is open and in sync: a PING must get exactly +PONG. */
async function probeOpen(client: RawClient): Promise<string> {
  if (client.closed) return 'closed';
  try {
    const reply = await client.send('PING');
    return reply.toString('latin1') === '+PONG\r\n' ? 'open' : `open but out of sync (PING got ${escapeBytes(reply)})`;
  } catch (err) {
    if (err instanceof ConnectionClosedError) return 'closed';
    throw err;
  }
}

/**
 * Iterate SCAN from 0 to 0 and return the keys seen as one synthetic RESP array, sorted
 * and de-duplicated. An error or malformed reply from SCAN is returned as is instead.
 */
export async function scanAllKeys(client: RawClient, options: Arg[]): Promise<Buffer> {
  const seen = new Map<string, Buffer>();
  let cursor = '0';
  for (let i = 0; i < SCAN_ITERATIONS_MAX; i++) {
    const reply = await client.send('SCAN', cursor, ...options);
    const frame = decodeFrame(reply);
    const [next, keys] = frame.items;
    if (frame.type !== '*' || frame.items.length !== 2 || next.type !== '$' || !next.value || keys.type !== '*') {
      return reply;
    }
    for (const key of keys.items) {
      if (key.type !== '$' || !key.value) return reply;
      seen.set(key.value.toString('hex'), key.value);
    }
    cursor = next.value.toString('latin1');
    if (cursor === '0') {
      return encodeCommand([...seen.values()].sort(Buffer.compare));
    }
  }
  throw new Error(`SCAN did not return to cursor 0 within ${SCAN_ITERATIONS_MAX} calls`);
}

/**
 * Iterate HSCAN over `key` from 0 to 0 and return the field/value pairs seen as one
 * synthetic flat RESP array, sorted by field then value and de-duplicated (a field seen
 * twice with two values stays twice, so the difference shows). An error or malformed
 * reply from HSCAN is returned as is instead.
 */
export async function hscanAllPairs(client: RawClient, key: Arg, options: Arg[], command: 'HSCAN' | 'ZSCAN' = 'HSCAN'): Promise<Buffer> {
  const seen = new Map<string, [Buffer, Buffer]>();
  let cursor = '0';
  for (let i = 0; i < SCAN_ITERATIONS_MAX; i++) {
    const reply = await client.send(command, key, cursor, ...options);
    const frame = decodeFrame(reply);
    const [next, items] = frame.items;
    if (frame.type !== '*' || frame.items.length !== 2 || next.type !== '$' || !next.value || items.type !== '*') {
      return reply;
    }
    if (items.items.length % 2 !== 0) return reply;
    for (let j = 0; j < items.items.length; j += 2) {
      const [f, v] = [items.items[j], items.items[j + 1]];
      if (f.type !== '$' || !f.value || v.type !== '$' || !v.value) return reply;
      seen.set(`${f.value.toString('hex')}:${v.value.toString('hex')}`, [f.value, v.value]);
    }
    cursor = next.value.toString('latin1');
    if (cursor === '0') {
      const pairs = [...seen.values()].sort((x, y) => Buffer.compare(x[0], y[0]) || Buffer.compare(x[1], y[1]));
      return encodeCommand(pairs.flat());
    }
  }
  throw new Error(`HSCAN did not return to cursor 0 within ${SCAN_ITERATIONS_MAX} calls`);
}

/**
 * Iterate SSCAN over `key` from 0 to 0 and return the members seen as one synthetic RESP
 * array, sorted and de-duplicated. An error or malformed reply from SSCAN is returned as is.
 */
export async function sscanAllMembers(client: RawClient, key: Arg, options: Arg[]): Promise<Buffer> {
  const seen = new Map<string, Buffer>();
  let cursor = '0';
  for (let i = 0; i < SCAN_ITERATIONS_MAX; i++) {
    const reply = await client.send('SSCAN', key, cursor, ...options);
    const frame = decodeFrame(reply);
    const [next, items] = frame.items;
    if (frame.type !== '*' || frame.items.length !== 2 || next.type !== '$' || !next.value || items.type !== '*') {
      return reply;
    }
    for (const m of items.items) {
      if (m.type !== '$' || !m.value) return reply;
      seen.set(m.value.toString('hex'), m.value);
    }
    cursor = next.value.toString('latin1');
    if (cursor === '0') return encodeCommand([...seen.values()].sort(Buffer.compare));
  }
  throw new Error(`SSCAN did not return to cursor 0 within ${SCAN_ITERATIONS_MAX} calls`);
}

/** Failure text for a script's mismatches: step, mode, both raw replies escaped. */
export function formatMismatches(script: Script, result: ScriptResult, reference: Side, target: Side): string {
  const lines: string[] = [`script "${script.name}": ${result.mismatches.length} mismatching step(s)`];
  const width = Math.max(reference.name.length, target.name.length) + 1;
  for (const m of result.mismatches.slice(0, 20)) {
    lines.push('', `step ${m.stepIndex} (0 = FLUSHALL): ${describeStep(m.step)}`);
    if (m.step.note) lines.push(`  note: ${m.step.note}`);
    lines.push(`  ${m.reason}`);
    for (const [side, obs] of [[reference, m.reference], [target, m.target]] as const) {
      const replies = obs.failure ? `(${obs.failure})` : obs.replies.map((r) => escapeBytes(r, 600)).join(' ') || '(no reply)';
      const extra = [obs.after !== 'open' ? `[${obs.after}]` : '', obs.pushes.length ? `pushes: ${obs.pushes.map((p) => escapeBytes(p)).join(' ')}` : '']
        .filter(Boolean)
        .join(' ');
      lines.push(`  ${(side.name + ':').padEnd(width)} ${replies}${extra ? ` ${extra}` : ''}`);
    }
  }
  if (result.mismatches.length > 20) lines.push('', `... and ${result.mismatches.length - 20} more`);
  if (result.abortedAt !== undefined) lines.push('', `script stopped after step ${result.abortedAt}: connection closed or harness failure`);
  return lines.join('\n');
}

export function describeStep(step: Step): string {
  const arg = (a: Arg): string => {
    const bytes = typeof a === 'string' ? Buffer.from(a) : a;
    return /^[\x21-\x7e]+$/.test(bytes.toString('latin1')) && bytes.length <= 60 ? bytes.toString('latin1') : escapeBytes(bytes, 60);
  };
  switch (step.kind) {
    case 'command':
      return `${step.args.map(arg).join(' ')}  [${step.mode}${step.vary ? ` vary ${step.vary.join(',')}` : ''}${step.members ? ` of ${step.members.length}${step.distinct ? ' distinct' : ''}` : ''}${step.after ? `, then ${step.after}` : ''}]`;
    case 'scan-all':
      return `SCAN <to cursor 0> ${step.options.map(arg).join(' ')}  [union of keys, sorted]`;
    case 'hscan-all':
      return `${step.command ?? 'HSCAN'} ${arg(step.key)} <to cursor 0> ${step.options.map(arg).join(' ')}  [union of field/value pairs, sorted]`;
    case 'sscan-all':
      return `SSCAN ${arg(step.key)} <to cursor 0> ${step.options.map(arg).join(' ')}  [union of members, sorted]`;
    case 'raw':
      return `raw ${step.pieces.map((p) => escapeBytes(p, 120)).join(' + ')}  [${step.replies} repl${step.replies === 1 ? 'y' : 'ies'}, then ${step.after}]`;
  }
}
