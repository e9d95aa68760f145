/**
 * Who may read the HTTP endpoints: the same rule as for clients. With `requirepass` set, a
 * request needs HTTP Basic credentials whose password is the requirepass (any user name:
 * `default` is the natural one, as in `AUTH default <password>`); without it, anyone the
 * client port would accept. `protected-mode` applies as to clients: no password set, and a
 * request from anywhere but the loopback interface is refused.
 *
 * `authorize` is the one place that decides on credentials; when ACL users exist it is
 * where they are to be looked up (user name and password, as AUTH <user> <pass> does).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Settings } from '../config/settings';

/** Whether `user`/`pass` (null: no credentials sent) may read the endpoints. */
export function authorize(settings: Settings, user: string | null, pass: string | null): boolean {
  if (settings.requirepass === '') return true;
  if (user === null || pass === null) return false;
  return sameSecret(pass, settings.requirepass);
}

/** Compare in time independent of where the strings differ. */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** User and password of an `Authorization: Basic ...` header; nulls when absent or malformed. */
export function basicCredentials(header: string | undefined): { user: string | null; pass: string | null } {
  const m = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m === null) return { user: null, pass: null };
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return { user: null, pass: null };
  return { user: text.slice(0, colon), pass: text.slice(colon + 1) };
}

function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1';
}

/** Protected mode: refuse a request from another machine while no password is set. */
export function deniedByProtectedMode(settings: Settings, remoteAddress: string | undefined): boolean {
  return settings.protectedMode === 'yes' && settings.requirepass === '' && !isLoopback(remoteAddress);
}
