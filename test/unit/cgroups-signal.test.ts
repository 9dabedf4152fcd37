// signalAllFrozen: signal a cgroup's processes while frozen, and still signal them when the
// freeze cannot complete (a task stuck in the kernel, e.g. during an OOM kill).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signalAllFrozen, type DriverOptions } from '../../src/cgroups/common';

function cgroup(opts: { frozen?: boolean; freezeFails?: boolean }) {
  const log: string[] = [];
  let frozen = opts.frozen ?? false;
  return {
    log,
    isFrozen: () => frozen,
    freeze: () => {
      log.push('freeze');
      if (opts.freezeFails) throw new Error('unable to freeze /sys/fs/cgroup/freezer/x');
      frozen = true;
    },
    thaw: () => {
      log.push('thaw');
      frozen = false;
    },
    pids: () => [11, 12],
  };
}

function options(log: string[]): DriverOptions {
  return {
    fs: undefined as never,
    hugePageSizes: () => [],
    warn: (m) => log.push(`warn ${m}`),
    kill: (pid, sig) => log.push(`kill ${pid} ${sig}`),
  };
}

test('freezes, signals every process, thaws', () => {
  const c = cgroup({});
  signalAllFrozen(c, options(c.log), 15);
  assert.deepEqual(c.log, ['freeze', 'kill 11 15', 'kill 12 15', 'thaw']);
});

test('a freeze that cannot complete: a warning, and the signal is still sent', () => {
  const c = cgroup({ freezeFails: true });
  signalAllFrozen(c, options(c.log), 9);
  assert.deepEqual(c.log, ['freeze', 'warn signalling the container\'s processes without freezing them: unable to freeze /sys/fs/cgroup/freezer/x', 'kill 11 9', 'kill 12 9']);
});

test('a paused container stays paused, except for SIGKILL', () => {
  const c = cgroup({ frozen: true });
  signalAllFrozen(c, options(c.log), 15);
  assert.deepEqual(c.log, ['kill 11 15', 'kill 12 15']);
  const k = cgroup({ frozen: true });
  signalAllFrozen(k, options(k.log), 9);
  assert.deepEqual(k.log, ['kill 11 9', 'kill 12 9', 'thaw']);
});
