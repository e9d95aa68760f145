/** The harness itself: what one client writes, another reads; a quiet client records nothing. */
import type { Scenario } from '../sessions';

export const BASIC_SCENARIOS: Scenario[] = [
  {
    name: 'basic: a write on one connection is read on another',
    clients: 2,
    async run(s) {
      await s.cmd(0, 'SET', 'k', 'v');
      await s.cmd(1, 'GET', 'k');
      await s.quiet(1, 20);
      await s.cmdAs({ mode: 'skip-value', vary: ['id'] }, 1, 'HELLO', '3');
      await s.cmd(0, 'DEL', 'k');
      await s.cmd(1, 'GET', 'k');
    },
  },
];
