/**
 * ACL LOG (Redis 7.0 addACLLogEntry): denied commands, keys, channels and failed AUTHs,
 * newest first, at most ACL_LOG_MAX_LEN entries (acllog-max-len's default). An event like
 * one of the 10 newest entries (same reason, context, object and username, within 60 s of
 * it) bumps that entry's count, refreshes its client info and time, and moves it to the
 * front. Redis 7.0.15's fields: count, reason, context, object, username, age-seconds,
 * client-info (entry-id and the timestamps came in 7.2).
 */
import type { ReplyWriter } from '../resp/writer';

export const ACL_LOG_MAX_LEN = 128;
const GROUPING_MAX_MS = 60_000;

export type LogReason = 'command' | 'key' | 'channel' | 'auth';
export type LogContext = 'toplevel' | 'multi' | 'lua';

export interface LogEntry {
  count: number;
  reason: LogReason;
  context: LogContext;
  object: Buffer;
  username: Buffer;
  ctimeMs: number;
  clientInfo: string;
}

export class AclLog {
  private entries: LogEntry[] = [];

  add(e: Omit<LogEntry, 'count'>, maxLen = ACL_LOG_MAX_LEN): void {
    const scan = Math.min(10, this.entries.length);
    for (let i = 0; i < scan; i++) {
      const c = this.entries[i];
      if (c.reason === e.reason && c.context === e.context && Math.abs(e.ctimeMs - c.ctimeMs) <= GROUPING_MAX_MS && c.object.equals(e.object) && c.username.equals(e.username)) {
        c.count++;
        c.clientInfo = e.clientInfo;
        c.ctimeMs = e.ctimeMs;
        this.entries.splice(i, 1);
        this.entries.unshift(c);
        return;
      }
    }
    this.entries.unshift({ ...e, count: 1 });
    if (this.entries.length > maxLen) this.entries.length = maxLen;
  }

  reset(): void {
    this.entries = [];
  }

  /** ACL LOG [count]: the newest `count` entries as maps. */
  write(w: ReplyWriter, count: number, nowMs: number): void {
    const n = Math.max(0, Math.min(count, this.entries.length));
    w.array(n);
    for (let i = 0; i < n; i++) {
      const e = this.entries[i];
      w.map(7);
      w.bulkString('count');
      w.integer(e.count);
      w.bulkString('reason');
      w.bulkString(e.reason);
      w.bulkString('context');
      w.bulkString(e.context);
      w.bulkString('object');
      w.bulk(e.object);
      w.bulkString('username');
      w.bulk(e.username);
      w.bulkString('age-seconds');
      w.double(String((nowMs - e.ctimeMs) / 1000));
      w.bulkString('client-info');
      w.bulkString(e.clientInfo);
    }
  }
}
