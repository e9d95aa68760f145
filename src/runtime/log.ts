/**
 * The log: Redis-style lines (`pid:role dd Mon yyyy hh:mm:ss.mmm * message`) to standard
 * output or a file, filtered by loglevel. Created once in main.ts and passed down.
 */
import { appendFileSync } from 'node:fs';
import type { Clock } from './clock';

export type Level = 'debug' | 'verbose' | 'notice' | 'warning';
const RANK: Record<Level, number> = { debug: 0, verbose: 1, notice: 2, warning: 3 };
const MARK: Record<Level, string> = { debug: '.', verbose: '-', notice: '*', warning: '#' };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export class Logger {
  constructor(
    private readonly clock: Clock,
    public level: Level,
    private readonly file: string,
  ) {}

  log(level: Level, msg: string): void {
    if (RANK[level] < RANK[this.level]) return;
    const d = new Date(this.clock.nowMs());
    const p2 = (n: number): string => String(n).padStart(2, '0');
    const ts = `${p2(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
    const line = `${process.pid}:M ${ts} ${MARK[level]} ${msg}\n`;
    if (this.file === '') process.stdout.write(line);
    else appendFileSync(this.file, line);
  }

  debug(msg: string): void {
    this.log('debug', msg);
  }
  verbose(msg: string): void {
    this.log('verbose', msg);
  }
  notice(msg: string): void {
    this.log('notice', msg);
  }
  warning(msg: string): void {
    this.log('warning', msg);
  }
}
