/**
 * COMMAND GETKEYS and GETKEYSANDFLAGS for every command with keys that we share with Redis:
 * invocations generated from Redis's own argument docs (redis-meta.generated.ts), each
 * compared byte for byte with redis-server. Two invocations per command: the required
 * arguments only (one of each repeated argument, numkeys 1), and every optional argument
 * too with repeated arguments twice (numkeys 2); a oneof takes its first alternative.
 */
import { REDIS_META, type RedisArgDocs } from '../../../src/commands/redis-meta.generated';
import { script, type Script, type StepInput } from '../script';

/** Integer arguments that count the keys after them. */
const COUNTS = new Set(['numkeys', 'numkeys_', 'count_keys']);

function gen(args: readonly RedisArgDocs[], full: boolean, counter: { k: number }): string[] {
  const out: string[] = [];
  for (const a of args) {
    const optional = a.flags?.includes('optional') === true;
    if (optional && !full) continue;
    const times = a.flags?.includes('multiple') === true && full ? 2 : 1;
    for (let t = 0; t < times; t++) {
      if (a.token !== undefined && (t === 0 || a.flags?.includes('multiple_token') === true)) out.push(a.token);
      switch (a.type) {
        case 'key':
          out.push(`key${counter.k++}`);
          break;
        case 'integer':
          out.push(COUNTS.has(a.name) ? (full ? '2' : '1') : '1');
          break;
        case 'double':
          out.push('1.5');
          break;
        case 'pattern':
          out.push('*');
          break;
        case 'unix-time':
          out.push('100');
          break;
        case 'pure-token':
          break;
        case 'oneof':
          if (a.arguments !== undefined && a.arguments.length > 0) out.push(...gen([{ ...a.arguments[0], flags: [] }], full, counter));
          break;
        case 'block':
          if (a.arguments !== undefined) out.push(...gen(a.arguments, full, counter));
          break;
        default:
          out.push(a.name === 'id' ? '0-1' : 'v');
      }
    }
  }
  return out;
}

function cases(): StepInput[] {
  const steps: StepInput[] = [];
  for (const [name, meta] of Object.entries(REDIS_META)) {
    if (meta.subcommands !== undefined && meta.subcommands.length > 0) continue;
    if (meta.keySpecs.length === 0 && meta.firstKey === 0) continue;
    const words = name.split('|');
    for (const full of [false, true]) {
      const argv = [...words, ...gen(meta.docs.arguments ?? [], full, { k: 1 })];
      steps.push(['COMMAND', 'GETKEYS', ...argv]);
      steps.push(['COMMAND', 'GETKEYSANDFLAGS', ...argv]);
    }
  }
  return steps;
}

export const getkeysScripts: Script[] = [script('command: GETKEYS and GETKEYSANDFLAGS of every command with keys', cases())];
