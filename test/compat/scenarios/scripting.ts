/**
 * Long-running scripts seen from other clients: past busy-reply-threshold (lowered with
 * CONFIG SET on both servers) every other client gets BUSY except for allow_busy commands;
 * SCRIPT KILL stops a script that has not written, FUNCTION KILL a function; a script that
 * has written is UNKILLABLE and runs to its end.
 */
import type { Scenario } from '../sessions';

const FOREVER = 'local i = 0 while true do i = i + 1 end';

export const SCRIPTING_SCENARIOS: Scenario[] = [
  {
    name: 'scripting: a busy script, BUSY for others, SCRIPT KILL',
    clients: 2,
    async run(s) {
      await s.cmd(1, 'CONFIG', 'SET', 'busy-reply-threshold', '50');
      await s.cmd(1, 'SET', 'k', 'v');
      s.send(0, 'EVAL', FOREVER, '0');
      await s.quiet(0, 300);
      await s.cmd(1, 'PING');
      await s.cmd(1, 'GET', 'k');
      await s.cmd(1, 'FUNCTION', 'KILL');
      await s.cmd(1, 'FUNCTION', 'STATS');
      await s.cmd(1, 'SCRIPT', 'KILL');
      await s.read(0);
      await s.cmd(1, 'PING');
      await s.cmd(0, 'GET', 'k');
      await s.cmd(1, 'SCRIPT', 'KILL');
      // A script caught in pcall is still killed.
      s.send(0, 'EVAL', `while true do pcall(function() ${FOREVER} end) end`, '0');
      await s.quiet(0, 300);
      await s.cmd(1, 'SCRIPT', 'KILL');
      await s.read(0);
      // After an error caught by pcall (and one that ended a script), still BUSY and killable.
      await s.cmd(0, 'EVAL', "error('ends a script')", '0');
      s.send(0, 'EVAL', `pcall(error, 'x') xpcall(error, function(e) return e end) ${FOREVER}`, '0');
      await s.quiet(0, 300);
      await s.cmd(1, 'PING');
      await s.cmd(1, 'SCRIPT', 'KILL');
      await s.read(0);
      await s.cmd(1, 'CONFIG', 'SET', 'busy-reply-threshold', '5000');
    },
  },
  {
    name: 'scripting: a busy function, FUNCTION STATS, FUNCTION KILL',
    clients: 2,
    async run(s) {
      await s.cmd(1, 'FUNCTION', 'FLUSH');
      await s.cmd(1, 'CONFIG', 'SET', 'lua-time-limit', '50');
      await s.cmd(1, 'CONFIG', 'GET', 'busy-reply-threshold');
      await s.cmd(1, 'FUNCTION', 'LOAD', `#!lua name=spin\nredis.register_function{function_name='spin', callback=function() ${FOREVER} end, flags={'no-writes'}}`);
      s.send(0, 'FCALL', 'spin', '0');
      await s.quiet(0, 300);
      await s.cmd(1, 'GET', 'k');
      await s.cmd(1, 'SCRIPT', 'KILL');
      await s.cmdAs({ mode: 'skip-value' }, 1, 'FUNCTION', 'STATS');
      await s.cmd(1, 'FUNCTION', 'KILL');
      await s.read(0);
      await s.cmd(1, 'FUNCTION', 'STATS');
      await s.cmd(1, 'FUNCTION', 'FLUSH');
      await s.cmd(1, 'CONFIG', 'SET', 'busy-reply-threshold', '5000');
    },
  },
  {
    name: 'scripting: a script that wrote is UNKILLABLE',
    clients: 2,
    async run(s) {
      await s.cmd(1, 'CONFIG', 'SET', 'busy-reply-threshold', '20');
      s.send(0, 'EVAL', "redis.call('set', KEYS[1], 'written') local i = 0 while i < 30000000 do i = i + 1 end return i", '1', 'w');
      await s.quiet(0, 100);
      await s.cmd(1, 'SCRIPT', 'KILL');
      await s.read(0);
      await s.cmd(1, 'GET', 'w');
      await s.cmd(1, 'CONFIG', 'SET', 'busy-reply-threshold', '5000');
    },
  },
];
