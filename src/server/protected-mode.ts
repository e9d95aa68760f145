/**
 * Redis's protected mode: while the default user has no password, only clients on the
 * loopback interface are served. The client port (server.ts) and the HTTP endpoints
 * (http/) apply the same rule.
 */
import type { Settings } from '../config/settings';

/** 127.0.0.1 or ::1 (IPv4-mapped too): what Redis's connIsLocal counts as local. */
export function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1';
}

/** Whether a connection from `remoteAddress` is refused: protected mode on, no password, not loopback. */
export function deniedByProtectedMode(settings: Settings, acl: { readonly defaultUser: { readonly nopass: boolean } }, remoteAddress: string | undefined): boolean {
  return settings.protectedMode === 'yes' && acl.defaultUser.nopass && !isLoopback(remoteAddress);
}
