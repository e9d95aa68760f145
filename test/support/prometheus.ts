/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for the metrics
 * tests: every line must be a HELP, a TYPE, another comment, a blank line or a valid
 * sample; a sample must belong to a family declared by an earlier TYPE line (for a
 * histogram: its _bucket, _sum and _count); a series (name and labels) appears once; a
 * histogram's buckets are cumulative, end with le="+Inf" and that bucket equals _count.
 * Any violation throws with the line number and text.
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: PromSample[];
  types: Map<string, string>;
  /** The value of the one series with exactly these labels (undefined when absent). */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample of `name` whose labels include `match`. */
  find(name: string, match?: Record<string, string>): PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * A sample value as Prometheus reads it (Go's strconv.ParseFloat): a decimal float, or NaN,
 * Inf, Infinity with any case and sign (prom-client writes NaN as `Nan`).
 */
function parseValue(text: string): number | null {
  if (/^nan$/i.test(text)) return NaN;
  const inf = /^([+-]?)inf(inity)?$/i.exec(text);
  if (inf !== null) return inf[1] === '-' ? -Infinity : Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return null;
  return Number(text);
}

/** Labels `{a="x",b="y"}` from position `i` of `line`; returns them and the index after `}`. */
function parseLabels(line: string, start: number, fail: (why: string) => never): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0) fail('label without =');
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name)) fail(`bad label name '${name}'`);
    if (name in labels) fail(`duplicate label '${name}'`);
    if (line[eq + 1] !== '"') fail('label value not quoted');
    let j = eq + 2;
    let value = '';
    for (;;) {
      const ch = line[j];
      if (ch === undefined) fail('unterminated label value');
      if (ch === '"') break;
      if (ch === '\\') {
        const next = line[j + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else fail(`bad escape \\${next}`);
        j += 2;
        continue;
      }
      value += ch;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') fail('expected , or } after a label');
  }
}

function seriesKey(name: string, labels: Record<string, string>): string {
  return name + JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

export function parseExposition(text: string): Exposition {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('exposition does not end with a newline');
  lines.pop();
  lines.forEach((line, n) => {
    const fail = (why: string): never => {
      throw new Error(`line ${n + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return; // an ordinary comment
      if (!NAME.test(m[2])) fail('bad metric name');
      if (m[1] === 'HELP') {
        if (helps.has(m[2])) fail('second HELP');
        helps.add(m[2]);
        if (/\\[^\\n]/.test(m[3].replace(/\\\\/g, ''))) fail('bad escape in HELP');
      } else {
        if (types.has(m[2])) fail('second TYPE');
        if (!TYPES.has(m[3])) fail(`unknown type '${m[3]}'`);
        if (samples.some((s) => familyOf(s.name, types) === m[2])) fail('TYPE after samples of the family');
        types.set(m[2], m[3]);
      }
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) fail('no metric name');
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) fail('bad metric name');
    let labels: Record<string, string> = {};
    let rest = nameEnd;
    if (line[nameEnd] === '{') ({ labels, end: rest } = parseLabels(line, nameEnd, fail));
    if (line[rest] !== ' ') fail('expected a space before the value');
    const parts = line.slice(rest + 1).split(' ');
    if (parts.length < 1 || parts.length > 2) fail('expected a value and an optional timestamp');
    const value = parseValue(parts[0]);
    if (value === null) fail(`bad value '${parts[0]}'`);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) fail('bad timestamp');
    const family = familyOf(name, types);
    if (family === null) fail('sample of a family without a TYPE line');
    const key = seriesKey(name, labels);
    if (seen.has(key)) fail('duplicate series');
    seen.add(key);
    samples.push({ name, labels, value: value as number });
  });
  checkHistograms(samples, types);
  const find = (name: string, match: Record<string, string> = {}): PromSample[] =>
    samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    types,
    find,
    value: (name, labels = {}) => {
      const want = seriesKey(name, labels);
      return samples.find((s) => seriesKey(s.name, s.labels) === want)?.value;
    },
  };
}

/** The declared family a sample name belongs to, or null. */
function familyOf(name: string, types: Map<string, string>): string | null {
  if (types.has(name)) {
    const t = types.get(name);
    return t === 'histogram' ? null : name;
  }
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const t = types.get(base);
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
  }
  return null;
}

function checkHistograms(samples: PromSample[], types: Map<string, string>): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map<string, { le: number; value: number }[]>();
    for (const s of samples) {
      if (s.name !== `${family}_bucket`) continue;
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const bound = parseValue(le);
      if (bound === null) throw new Error(`${family}_bucket: bad le '${le}'`);
      const key = JSON.stringify(Object.entries(rest).sort());
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push({ le: bound, value: s.value });
    }
    for (const [key, buckets] of groups) {
      const labels = Object.fromEntries(JSON.parse(key) as [string, string][]);
      for (let i = 1; i < buckets.length; i++) {
        if (!(buckets[i].le > buckets[i - 1].le)) throw new Error(`${family}${key}: le not increasing`);
        if (buckets[i].value < buckets[i - 1].value) throw new Error(`${family}${key}: buckets not cumulative`);
      }
      const last = buckets[buckets.length - 1];
      if (last.le !== Infinity) throw new Error(`${family}${key}: no +Inf bucket`);
      const count = samples.find((s) => s.name === `${family}_count` && seriesKey('', s.labels) === seriesKey('', labels));
      const sum = samples.find((s) => s.name === `${family}_sum` && seriesKey('', s.labels) === seriesKey('', labels));
      if (count === undefined || sum === undefined) throw new Error(`${family}${key}: no _count or _sum`);
      if (count.value !== last.value) throw new Error(`${family}${key}: +Inf bucket ${last.value} != _count ${count.value}`);
    }
  }
}
