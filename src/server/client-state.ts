/**
 * What a command may know and change about the connection it runs on: protocol, database,
 * name, authentication, consistency level. The connection (connection.ts) owns the socket;
 * this is the part the command layer sees.
 */
import type { DbView } from '../storage/keyspace';
import type { ClientTx } from './transactions';
import type { ClientSubs } from '../pubsub/registry';
import type { TrackingState } from './tracking';
import type { User } from '../acl/user';

export interface ClientState {
  readonly id: number;
  readonly addr: string;
  readonly laddr: string;
  /** Unix ms when the connection was accepted. */
  readonly createdMs: number;
  name: string;
  libName: string;
  libVersion: string;
  resp: 2 | 3;
  authenticated: boolean;
  dbIndex: number;
  /** Select a database; the caller checked the index. */
  select(index: number): void;
  /** The db view for an index (SWAPDB-free, so views are fixed). */
  dbView(index: number): DbView;
  /** Re-derive what depends on authentication (after AUTH, HELLO AUTH, RESET). */
  refreshAuth(): void;
  /** Close the connection now, dropping any reply (SHUTDOWN, which answers nothing). */
  kill(): void;
  /** Close after the reply to the current command has been written (QUIT). */
  closeAfterReply(): void;
  /** Name of the last command run, for CLIENT LIST's cmd=. */
  lastCommand: string;
  /** Unix ms of the last command, for idle=. */
  lastActiveMs: number;
  /** Bytes in the query buffer / output buffer, for CLIENT LIST. */
  queryBufferBytes(): number;
  outputBufferBytes(): number;
  /** MULTI/WATCH state (transactions.ts), created on first use; clients of the cluster bus have none. */
  tx?: ClientTx | null;
  /** CLIENT TRACKING state (tracking.ts); null or absent when off. */
  tracking?: TrackingState | null;
  /** CLIENT NO-EVICT (shown as flag e; nothing is evicted here anyway). */
  noEvict?: boolean;
  /** CLIENT REPLY state (connection.ts applyReplyMode): bit 1 OFF, 2 SKIP now, 4 SKIP next. */
  replyMode?: number;
  /** The ACL user it is authenticated as (absent: default; harnesses may have none). */
  aclUser?: User;
  /** Its pub/sub subscriptions (a connection has them; harnesses may not). */
  readonly pubsub?: ClientSubs;
}
