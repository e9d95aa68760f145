/**
 * ACL with several connections: permissions changed between MULTI and EXEC (EXEC checks
 * each queued command again), a user changed while a client is authenticated as it (the
 * change applies at once), ACL DELUSER disconnecting the user's other clients, and the
 * ACL LOG entries these leave (age-seconds and client-info masked).
 */
import type { Scenario } from '../sessions';

const LOG = { mode: 'skip-value' as const, vary: ['age-seconds', 'client-info'] };

export const ACL_SCENARIOS: Scenario[] = [
  {
    name: 'acl: EXEC checks queued commands again, changes apply at once, DELUSER disconnects',
    clients: 3,
    async run(s) {
      await s.cmd(0, 'ACL', 'LOG', 'RESET');
      await s.cmd(0, 'ACL', 'SETUSER', 'alice', 'on', '>p', '~app:*', '&ch', '+get', '+set', '+multi', '+exec', '+publish', '+ping');
      await s.cmd(1, 'AUTH', 'alice', 'p');
      await s.cmd(2, 'AUTH', 'alice', 'p');
      await s.cmd(1, 'MULTI');
      await s.cmd(1, 'SET', 'app:1', 'v');
      await s.cmd(1, 'GET', 'app:1');
      await s.cmd(1, 'PUBLISH', 'ch', 'm');
      await s.cmd(0, 'ACL', 'SETUSER', 'alice', '-get', 'resetchannels');
      await s.cmd(1, 'EXEC');
      await s.cmd(2, 'GET', 'app:1');
      await s.cmd(0, 'ACL', 'SETUSER', 'alice', 'resetkeys', '~other');
      await s.cmd(1, 'MULTI');
      await s.cmd(1, 'SET', 'app:1', 'w');
      await s.cmd(0, 'ACL', 'SETUSER', 'alice', '~app:*');
      await s.cmd(1, 'EXEC');
      await s.cmdAs(LOG, 0, 'ACL', 'LOG');
      await s.cmd(0, 'ACL', 'DELUSER', 'alice');
      s.keep(String(await s.client(1).waitClosed(2000)));
      s.keep(String(await s.client(2).waitClosed(2000)));
      await s.cmd(0, 'ACL', 'LOG', 'RESET');
    },
  },
  {
    name: 'acl: a subscriber whose channels are revoked is disconnected',
    clients: 3,
    async run(s) {
      await s.cmd(0, 'ACL', 'SETUSER', 'sub', 'on', '>p', '&news*', '&other', '+subscribe', '+psubscribe', '+ping');
      await s.cmd(1, 'AUTH', 'sub', 'p');
      await s.cmd(2, 'AUTH', 'sub', 'p');
      await s.cmd(1, 'SUBSCRIBE', 'news1');
      await s.cmd(2, 'PSUBSCRIBE', 'other');
      // Still allowed: nobody goes.
      await s.cmd(0, 'ACL', 'SETUSER', 'sub', 'resetchannels', '&news*', '&other', '&more');
      await s.cmd(1, 'PING');
      await s.cmd(2, 'PING');
      // news1 no longer allowed: client 1 goes, client 2 stays.
      await s.cmd(0, 'ACL', 'SETUSER', 'sub', 'resetchannels', '&other');
      s.keep(String(await s.client(1).waitClosed(2000)));
      await s.cmd(2, 'PING');
      await s.cmd(0, 'ACL', 'DELUSER', 'sub');
      s.keep(String(await s.client(2).waitClosed(2000)));
    },
  },
];
