/**
 * Reading the configuration: a redis.conf-style file (one directive per line, arguments
 * split as Redis splits them, # comments) followed by `--directive value ...` from the
 * command line, which override the file, as redis-server does. Any unknown directive or bad
 * value stops start-up with the file, the line, the directive and the reason.
 */
import { readFileSync } from 'node:fs';
import { splitInlineArgs } from '../resp/inline';
import { DIRECTIVE_BY_NAME, defaultSettings, parseDirective, type Settings } from './settings';

export class ConfigError extends Error {}

interface Line {
  source: string;
  lineNo: number;
  text: string;
}

/** Turn `--port 7000 --bind 127.0.0.1 ::1` into directive lines, as redis-server does. */
export function argvToLines(argv: string[]): Line[] {
  const lines: Line[] = [];
  let cur: string[] | null = null;
  const quote = (a: string): string => (a === '' || /[\s"'\\]/.test(a) ? JSON.stringify(a) : a);
  for (const a of argv) {
    if (a.startsWith('--') && a.length > 2) {
      if (cur !== null) lines.push({ source: 'command line', lineNo: lines.length + 1, text: cur.join(' ') });
      cur = [a.slice(2)];
    } else {
      if (cur === null) throw new ConfigError(`Invalid command line argument '${a}': expected --directive value ...`);
      cur.push(quote(a));
    }
  }
  if (cur !== null) lines.push({ source: 'command line', lineNo: lines.length + 1, text: cur.join(' ') });
  return lines;
}

export function fileToLines(path: string): Line[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Fatal error, can't open config file '${path}': ${(err as Error).message}`);
  }
  return text.split(/\r?\n/).map((t, i) => ({ source: path, lineNo: i + 1, text: t }));
}

function fail(line: Line, reason: string): never {
  throw new ConfigError(
    `\n*** FATAL CONFIG FILE ERROR (quorumkv) ***\n` +
      `Reading the configuration ${line.source === 'command line' ? 'from the command line' : `file ${line.source}`}, at line ${line.lineNo}\n` +
      `>>> '${line.text.trim()}'\n${reason}`,
  );
}

export function applyLines(settings: Settings, lines: Line[]): void {
  for (const line of lines) {
    const trimmed = line.text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const args = splitInlineArgs(Buffer.from(trimmed, 'utf8'));
    if (args === null) fail(line, 'Unbalanced quotes in configuration line');
    if (args.length === 0) continue;
    const name = args[0].toString('utf8').toLowerCase();
    // `user <name> <rules...>`: repeatable, one ACL user each (src/acl/store.ts configure).
    if (name === 'user') {
      if (args.length < 2) fail(line, "Bad directive or wrong number of arguments: 'user' needs a username");
      settings.users.push(args.slice(1).map((a) => a.toString('latin1')));
      continue;
    }
    const d = DIRECTIVE_BY_NAME.get(name);
    if (d === undefined) fail(line, `Bad directive or wrong number of arguments: unknown directive '${name}'`);
    const r = parseDirective(
      d,
      args.slice(1).map((a) => a.toString('utf8')),
      settings,
    );
    if ('error' in r) fail(line, `directive '${name}': ${r.error}`);
    (settings as unknown as Record<string, unknown>)[d.key] = r.value;
  }
}

/** Settings from `[config-file] [--directive value ...]`. */
export function loadSettings(argv: string[]): { settings: Settings; configFile: string | null } {
  const settings = defaultSettings();
  let configFile: string | null = null;
  let rest = argv;
  if (argv.length > 0 && !argv[0].startsWith('--')) {
    configFile = argv[0];
    rest = argv.slice(1);
    applyLines(settings, fileToLines(configFile));
  }
  applyLines(settings, argvToLines(rest));
  return { settings, configFile };
}
