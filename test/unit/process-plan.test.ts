// The pure part of the user-process setup: environment (HOME), rlimit values and names,
// capability names, scheduler/ioPriority/personality tables, umask, validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Process } from '../../src/spec';
import { planProcess, prepareEnv } from '../../src/init/process';
import { homeFor, passwdHome } from '../../src/init/process/environment';
import { planRlimits, rlimitValue } from '../../src/init/process/rlimits';
import { planCapabilities, explainCapset } from '../../src/init/process/capabilities';
import { planIoPriority, planScheduler } from '../../src/init/process/scheduling';
import { planPersonality } from '../../src/init/process/personality';
import { planOomScoreAdj } from '../../src/init/process/oom';
import { planUser } from '../../src/init/process/user';
import { RLIM_INFINITY } from '../../src/linux/constants';

const PASSWD = [
  '# a comment',
  'root:x:0:0:root:/root:/bin/sh',
  '',
  'broken line',
  'app:x:1000:1000:App:/home/app:/bin/sh',
  'dup:x:1000:1000::/home/dup:/bin/sh',
  'nohome:x:1001:1001:::/bin/sh',
].join('\n');

function withRoot(fn: (root: string) => void): () => void {
  return () => {
    const root = mkdtempSync(join(tmpdir(), 'tsrun-test-plan-'));
    try {
      mkdirSync(join(root, 'etc'));
      writeFileSync(join(root, 'etc/passwd'), PASSWD);
      fn(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

test('passwdHome: first entry with the uid; comments and broken lines skipped', () => {
  assert.equal(passwdHome(PASSWD, 0), '/root');
  assert.equal(passwdHome(PASSWD, 1000), '/home/app');
  assert.equal(passwdHome(PASSWD, 1001), '');
  assert.equal(passwdHome(PASSWD, 4242), undefined);
});

test('homeFor: "/" when the uid or the file is missing', withRoot((root) => {
  assert.equal(homeFor(1000, root), '/home/app');
  assert.equal(homeFor(4242, root), '/');
  assert.equal(homeFor(0, join(root, 'nonexistent')), '/');
}));

test('prepareEnv adds HOME from the container\'s passwd when missing', withRoot((root) => {
  assert.deepEqual(prepareEnv(['PATH=/bin', 'A=1'], 1000, root), ['PATH=/bin', 'A=1', 'HOME=/home/app']);
  assert.deepEqual(prepareEnv(['PATH=/bin'], 0, root), ['PATH=/bin', 'HOME=/root']);
  assert.deepEqual(prepareEnv(undefined, 4242, root), ['HOME=/']);
}));

test('prepareEnv keeps a set HOME, replaces an empty one', withRoot((root) => {
  assert.deepEqual(prepareEnv(['HOME=/custom', 'A=1'], 1000, root), ['HOME=/custom', 'A=1']);
  assert.deepEqual(prepareEnv(['HOME=', 'A=1'], 1000, root), ['A=1', 'HOME=/home/app']);
}));

test('prepareEnv: duplicates keep the last value at its position (runc)', withRoot((root) => {
  assert.deepEqual(prepareEnv(['A=1', 'B=2', 'A=3', 'HOME=/h'], 0, root), ['B=2', 'A=3', 'HOME=/h']);
  assert.deepEqual(prepareEnv(['HOME=/h', 'HOME='], 0, root), ['HOME=/root']);
  assert.deepEqual(prepareEnv(['X=a=b', 'EMPTY=', 'HOME=/'], 0, root), ['X=a=b', 'EMPTY=', 'HOME=/']);
}));

test('prepareEnv rejects malformed entries', () => {
  assert.throws(() => prepareEnv(['NOEQUALS'], 0, '/nonexistent'), /invalid environment variable "NOEQUALS": missing '='/);
  assert.throws(() => prepareEnv(['=x'], 0, '/nonexistent'), /name cannot be empty/);
  assert.throws(() => prepareEnv(['A=x\0y'], 0, '/nonexistent'), /invalid environment variable "A": contains nul byte/);
});

test('rlimit values: numbers, bigints, 2^64-1 as parsed from JSON', () => {
  assert.equal(rlimitValue(1024, 'x'), 1024n);
  assert.equal(rlimitValue(0, 'x'), 0n);
  assert.equal(rlimitValue(JSON.parse('18446744073709551615'), 'x'), RLIM_INFINITY);
  assert.equal(rlimitValue(2 ** 64, 'x'), RLIM_INFINITY);
  assert.equal(rlimitValue(RLIM_INFINITY, 'x'), RLIM_INFINITY);
  assert.equal(rlimitValue(2 ** 40, 'x'), 1099511627776n);
  assert.throws(() => rlimitValue(-1, 'rlimit RLIMIT_NOFILE soft limit'), /rlimit RLIMIT_NOFILE soft limit must be a non-negative integer/);
  assert.throws(() => rlimitValue(1.5, 'x'), /non-negative integer/);
  assert.throws(() => rlimitValue('10', 'x'), /non-negative integer/);
  assert.throws(() => rlimitValue(RLIM_INFINITY + 1n, 'x'), /out of range/);
});

test('planRlimits: names, duplicates', () => {
  assert.deepEqual(planRlimits([{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }, { type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615 }]), [
    { type: 'RLIMIT_NOFILE', resource: 7, soft: 1024n, hard: 4096n },
    { type: 'RLIMIT_CORE', resource: 4, soft: 0n, hard: RLIM_INFINITY },
  ]);
  assert.deepEqual(planRlimits(undefined), []);
  assert.throws(() => planRlimits([{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }]), /unknown rlimit type "RLIMIT_FOO"/);
  assert.throws(() => planRlimits([{ type: 'nofile', soft: 1, hard: 1 }]), /unknown rlimit type "nofile"/);
  assert.throws(
    () => planRlimits([{ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }, { type: 'RLIMIT_NOFILE', soft: 2, hard: 2 }]),
    /duplicate rlimit type RLIMIT_NOFILE/,
  );
});

test('planCapabilities: names to numbers per set; unknown names are errors', () => {
  const p = planCapabilities({ bounding: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_KILL'], ambient: [] }, undefined, 40);
  assert.deepEqual(p, { bounding: [0, 5], effective: [5], permitted: [], inheritable: [], ambient: [] });
  assert.equal(planCapabilities(undefined), undefined);
  assert.throws(() => planCapabilities({ permitted: ['CAP_CHOWN', 'CAP_FOO'] }, undefined, 40), /unknown capability "CAP_FOO" in process.capabilities.permitted/);
});

test('planCapabilities: capabilities the kernel does not have are dropped with a warning', () => {
  const warnings: string[] = [];
  const p = planCapabilities({ bounding: ['CAP_CHOWN', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE'], effective: ['CAP_BPF'] }, (m) => warnings.push(m), 37);
  assert.deepEqual(p?.bounding, [0]);
  assert.deepEqual(p?.effective, []);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /CAP_BPF, CAP_CHECKPOINT_RESTORE/);
});

test('explainCapset names what the runtime cannot grant', () => {
  const bit = (c: number): bigint => 1n << BigInt(c);
  const old = { effective: 0n, permitted: bit(10) | bit(5), inheritable: 0n };
  const msg = explainCapset({ effective: bit(24), permitted: bit(24) | bit(10), inheritable: 0n }, old, bit(10) | bit(24));
  assert.match(msg!, /does not hold CAP_SYS_RESOURCE/);
  assert.match(explainCapset({ effective: bit(5), permitted: bit(10), inheritable: 0n }, old, bit(10))!, /effective CAP_KILL not in permitted/);
  assert.equal(explainCapset({ effective: bit(10), permitted: bit(10), inheritable: bit(10) }, old, bit(10)), undefined);
});

test('scheduler, ioPriority, personality, oomScoreAdj tables', () => {
  assert.deepEqual(planScheduler({ policy: 'SCHED_BATCH', nice: 5 }), { policy: 3, flags: 0, nice: 5 });
  assert.deepEqual(
    planScheduler({ policy: 'SCHED_DEADLINE', flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_RECLAIM'], runtime: 10, deadline: 20, period: 30 }),
    { policy: 6, flags: 3, runtime: 10n, deadline: 20n, period: 30n },
  );
  assert.throws(() => planScheduler({ policy: 'SCHED_NOPE' as 'SCHED_FIFO' }), /invalid scheduler policy: SCHED_NOPE/);
  assert.throws(() => planScheduler({ policy: 'SCHED_FIFO', flags: ['X' as 'SCHED_FLAG_RECLAIM'] }), /invalid scheduler flag: X/);
  assert.equal(planScheduler(undefined), undefined);

  assert.equal(planIoPriority({ class: 'IOPRIO_CLASS_BE', priority: 4 }), (2 << 13) | 4);
  assert.equal(planIoPriority({ class: 'IOPRIO_CLASS_IDLE', priority: 0 }), 3 << 13);
  assert.throws(() => planIoPriority({ class: 'IOPRIO_CLASS_X' as 'IOPRIO_CLASS_RT', priority: 0 }), /invalid io priority class/);
  assert.throws(() => planIoPriority({ class: 'IOPRIO_CLASS_RT', priority: 8 }), /invalid io priority level 8/);

  assert.equal(planPersonality({ domain: 'LINUX' }), 0);
  assert.equal(planPersonality({ domain: 'LINUX32', flags: ['ADDR_NO_RANDOMIZE'] }), 0x0008 | 0x0040000);
  assert.throws(() => planPersonality({ domain: 'LINUX64' as 'LINUX' }), /invalid personality domain "LINUX64"/);
  assert.throws(() => planPersonality({ domain: 'LINUX', flags: ['NOPE'] }), /invalid personality flag "NOPE"/);

  assert.equal(planOomScoreAdj(-1000), -1000);
  assert.equal(planOomScoreAdj(undefined), undefined);
  assert.throws(() => planOomScoreAdj(1001), /oomScoreAdj must be an integer from -1000 to 1000/);
});

test('planUser: defaults to root, validates ids', () => {
  assert.deepEqual(planUser(undefined), { uid: 0, gid: 0, additionalGids: [] });
  assert.deepEqual(planUser({ uid: 1000, gid: 100, additionalGids: [5] }), { uid: 1000, gid: 100, additionalGids: [5] });
  assert.throws(() => planUser({ uid: -1 }), /user.uid must be an integer/);
  assert.throws(() => planUser({ uid: 1, additionalGids: [1, 4294967295] }), /user.additionalGids\[1\]/);
});

test('planProcess: umask default 0o022, argv as given, validation up front', withRoot((root) => {
  const p: Process = { args: ['sh', '-c', 'x'], cwd: '/', env: ['PATH=/bin'], user: { uid: 1000, gid: 1000 } };
  const plan = planProcess(p, { root });
  assert.equal(plan.umask, 0o022);
  assert.deepEqual(plan.argv, ['sh', '-c', 'x']);
  assert.deepEqual(plan.env, ['PATH=/bin', 'HOME=/home/app']);
  assert.equal(plan.capabilities, undefined);
  assert.equal(plan.noNewPrivileges, false);
  assert.equal(planProcess({ ...p, user: { uid: 0, gid: 0, umask: 0o077 } }, { root }).umask, 0o077);
  assert.throws(() => planProcess({ ...p, args: [] }, { root }), /args must not be empty/);
  assert.throws(() => planProcess(undefined), /a container needs a process/);
  assert.throws(() => planProcess({ ...p, rlimits: [{ type: 'RLIMIT_X', soft: 1, hard: 1 }] }, { root }), /unknown rlimit type/);
}));
