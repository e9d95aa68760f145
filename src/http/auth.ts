/**
 * Who may read the HTTP endpoints: the same rule as for clients. While the `default` user
 * needs a password (`requirepass`, or ACL SETUSER default >...), a request needs HTTP Basic
 * credentials of an enabled ACL user: user name and password, as `AUTH <user> <pass>`
 * checks them (`default` and the requirepass for a node without other users). Without a
 * password anyone the client port would accept may read. `protected-mode` applies as to
 * clients: the default user has no password, and a request from anywhere but the loopback
 * interface is refused.
 */
import { isIP } from 'node:net';
import { isLoopback } from '../server/protected-mode';

/** What the endpoints need of the ACL (src/acl/store.ts AclStore). */
export interface HttpAcl {
  /** The default user needs a password (or is off): credentials are required. */
  readonly authRequired: boolean;
  readonly defaultUser: { readonly nopass: boolean };
  /** The user these credentials name, or null (unknown, wrong password, disabled). */
  authenticate(name: Buffer, pass: Buffer): unknown;
}

/** Whether `user`/`pass` (null: no credentials sent) may read the endpoints. */
export function authorize(acl: HttpAcl, user: string | null, pass: string | null): boolean {
  if (!acl.authRequired) return true;
  if (user === null || pass === null) return false;
  return acl.authenticate(Buffer.from(user, 'utf8'), Buffer.from(pass, 'utf8')) !== null;
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

/**
 * DNS rebinding: a web page from another site whose name the attacker points at 127.0.0.1
 * reaches a loopback node with that name in `Host`. While no password protects the
 * endpoints, a loopback request must name the node by an address or `localhost`; a
 * request from another machine, or one that must authenticate, is not concerned.
 */
export function deniedByHostCheck(acl: HttpAcl, remoteAddress: string | undefined, host: string | undefined): boolean {
  if (acl.authRequired || !isLoopback(remoteAddress)) return false;
  if (host === undefined) return false;
  return !isLocalHostName(host);
}

/** `Host` (with or without a port) names an IP address or localhost. */
export function isLocalHostName(host: string): boolean {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    return end > 0 && isIP(name.slice(1, end)) === 6;
  }
  const colon = name.lastIndexOf(':');
  if (colon >= 0) name = name.slice(0, colon);
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name === 'localhost' || name.endsWith('.localhost') || isIP(name) !== 0;
}
