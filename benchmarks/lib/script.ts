/**
 * What every benchmark script shares around its main(): Ctrl-C / SIGTERM handling that
 * stops every process the script started (by pid, through `cleanup`) and removes its temp
 * dirs, logging to stderr, a small option parser, and number formatting.
 */
import { cleanup } from './targets';

let interruptedFlag = false;

/** True once SIGINT/SIGTERM/SIGHUP was received: long loops should stop. */
export function interrupted(): boolean {
  return interruptedFlag;
}

export function makeLog(tag: string): (msg: string) => void {
  return (msg: string) => void process.stderr.write(`[${tag}] ${msg}\n`);
}

/**
 * Run `main` with signal handlers installed. The first signal stops every tracked child
 * (SIGTERM, SIGKILL after 5 s) and removes the temp dirs, then exits 130/143; a second
 * one SIGKILLs everything at once. On normal return or on error, everything still running
 * is stopped the same way. The exit code is main's result (1 on error).
 */
export function runScript(tag: string, main: () => Promise<number>): void {
  const log = makeLog(tag);
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interruptedFlag) {
      log(`${sig} again: killing everything now`);
      cleanup.killAllSync();
      process.exit(130);
    }
    interruptedFlag = true;
    log(`${sig}: stopping servers and removing temp dirs`);
    cleanup
      .stopAll(5_000)
      .catch((err: unknown) => log(`cleanup error: ${String(err)}`))
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // Last resort (uncaught exception, process.exit from elsewhere).
  process.on('exit', () => cleanup.killAllSync());
  main()
    .then(async (code) => {
      await cleanup.stopAll();
      process.exitCode = code;
    })
    .catch(async (err: unknown) => {
      log(`fatal: ${err instanceof Error ? err.message : String(err)}`);
      await cleanup.stopAll();
      process.exitCode = interruptedFlag ? 130 : 1;
    });
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

export interface ParsedArgs {
  values: Map<string, string>;
  flags: Set<string>;
}

/**
 * `--key value`, `--key=value` and valueless `--flag`s. Unknown keys are an error (with
 * `usage`); `--help` prints `usage` and exits.
 */
export function parseArgv(argv: readonly string[], known: readonly string[], valueless: readonly string[], usage: string): ParsedArgs {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const flagSet = new Set([...valueless, 'help']);
  const knownSet = new Set(known);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}\n\n${usage}`);
    const eq = arg.indexOf('=');
    const key = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (flagSet.has(key)) {
      flags.add(key);
      continue;
    }
    if (!knownSet.has(key)) throw new Error(`unknown option --${key}\n\n${usage}`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new Error(`--${key} needs a value`);
      value = next;
      i++;
    }
    values.set(key, value);
  }
  if (flags.has('help')) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return { values, flags };
}

export function parsePositiveInt(name: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

export function parseNonNegativeInt(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };

/** "64mb" -> 67108864, with redis-server's units (k = 1000, kb = 1024, ...). */
export function parseSize(name: string, value: string): number {
  const m = /^(\d+)([a-z]*)$/i.exec(value.trim());
  const unit = m === null ? undefined : SIZE_UNITS[m[2].toLowerCase()];
  if (m === null || unit === undefined) throw new Error(`${name} must be a size like 64mb or 4gb, got ${JSON.stringify(value)}`);
  return Number(m[1]) * unit;
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

export function fmt(v: number | null, digits: number): string {
  if (v === null || !Number.isFinite(v)) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtRatio(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '-' : `${v.toFixed(2)}x`;
}

export function fmtMiB(bytes: number | null): string {
  return bytes === null ? '-' : `${fmt(bytes / 2 ** 20, 1)} MiB`;
}

/** A Markdown table; columns flagged in `numeric` are right-aligned. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: readonly string[]): string =>
    '| ' + cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (numeric[i] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  return [line(header), sep, ...rows.map(line)].join('\n');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
