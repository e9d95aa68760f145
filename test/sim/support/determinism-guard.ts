/**
 * Keeps the simulation honest: while a simulation is alive, product code (anything under
 * src/) that arms a real timer, reads the wall clock or draws from Math.random is recorded
 * as a problem, because each of those would make a run depend on more than its seed.
 * (setImmediate is allowed: the keyspace's group commit uses it, and the simulation's
 * settle step accounts for it.) Calls from anywhere else — vitest, the harness — pass
 * untouched; only calls whose stack goes through src/ are reported.
 */
import * as path from 'node:path';

const SRC = path.resolve(process.cwd(), 'src') + path.sep;

let users = 0;
let sink: ((problem: string) => void)[] = [];
const originals = {
  setTimeout: globalThis.setTimeout,
  setInterval: globalThis.setInterval,
  dateNow: Date.now,
  random: Math.random,
};

function fromProduct(): string | null {
  const stack = new Error().stack ?? '';
  const line = stack.split('\n').find((l) => l.includes(SRC));
  return line === undefined ? null : line.trim();
}

function report(what: string): void {
  const where = fromProduct();
  if (where === null) return;
  for (const fn of sink) fn(`product code used ${what} during a simulation (${where})`);
}

/** Start watching (reference-counted); `onProblem` hears of every offence. Returns the stop function. */
export function guardDeterminism(onProblem: (problem: string) => void): () => void {
  sink.push(onProblem);
  if (users++ === 0) {
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      report('a real setTimeout');
      return originals.setTimeout(...args);
    }) as typeof setTimeout;
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      report('a real setInterval');
      return originals.setInterval(...args);
    }) as typeof setInterval;
    Date.now = () => {
      report('Date.now()');
      return originals.dateNow();
    };
    Math.random = () => {
      report('Math.random()');
      return originals.random();
    };
  }
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    sink = sink.filter((f) => f !== onProblem);
    if (--users === 0) {
      globalThis.setTimeout = originals.setTimeout;
      globalThis.setInterval = originals.setInterval;
      Date.now = originals.dateNow;
      Math.random = originals.random;
    }
  };
}
