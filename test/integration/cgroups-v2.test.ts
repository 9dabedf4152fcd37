// The cgroup v2 driver on this machine's REAL cgroup2 hierarchy (/sys/fs/cgroup/unified).
// This host is hybrid: that hierarchy only has the hugetlb controller, so memory/cpu/pids/io
// limits on v2 are covered by test/unit/cgroups-v2.test.ts (fake tree) only. What does run
// here against the kernel: making the path with controllers enabled, hugetlb limits, the
// BPF_PROG_TYPE_CGROUP_DEVICE program (loaded and attached with bpf(2), then enforced on a
// real process), joining, freeze/thaw with cgroup.freeze/cgroup.events, cgroup.kill, stats,
// destroy.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { need } from '../helpers/need';
import { detectLayout } from '../../src/cgroups/layout';
import { CgroupV2Manager } from '../../src/cgroups/v2';
import { containerDeviceRules } from '../../src/cgroups/devices';
import { nodeCgroupFs } from '../../src/cgroups/fs';
import { hostHugePageSizes, killPid } from '../../src/cgroups/common';
import { linux } from '../../src/linux/syscalls';
import type { LinuxResources } from '../../src/spec';
import { removeCgroupTree } from '../helpers/cgroups';

const layout = detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
const MOUNT = layout.unified?.mountPoint ?? '';
const PARENT = join(MOUNT, `tsrun-test-v2-${process.pid}`);
const scratch = mkdtempSync(join(tmpdir(), 'tsrun-v2-'));

function manager(name: string): CgroupV2Manager {
  return new CgroupV2Manager(join(PARENT, name), MOUNT, { fs: nodeCgroupFs, warn: () => undefined, hugePageSizes: hostHugePageSizes, kill: killPid, sys: linux });
}


after(() => {
  rmSync(scratch, { recursive: true, force: true });
  const left = existsSync(PARENT) ? readdirSync(PARENT).filter((n) => statSync(join(PARENT, n)).isDirectory()) : [];
  removeCgroupTree(PARENT);
  assert.deepEqual(left, [], 'v2 cgroups left behind');
});

test('a cgroup2 hierarchy is mounted (this host: /sys/fs/cgroup/unified)', () => {
  need(MOUNT !== '', 'a cgroup2 mount');
  need(readFileSync(join(MOUNT, 'cgroup.controllers'), 'utf8').includes('hugetlb'), 'the hugetlb controller on cgroup2');
});

/** Runs a shell command as a process moved into `dir` first. */
function inCgroup(dir: string, script: string): { code: number | null; out: string } {
  const r = spawnSync('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && ${script}`], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('devices on cgroup v2: the generated BPF program is loaded, attached and enforced by the kernel', () => {
  const m = manager('devices');
  const resources: LinuxResources = { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 240, minor: 1, access: 'r' }] };
  m.create({ resources, devices: containerDeviceRules({ ociVersion: '1.3.0', linux: { resources } }) });
  const dir = m.record().paths['']!;
  const denied = join(scratch, 'dev-240-0');
  const allowed = join(scratch, 'dev-240-1');
  assert.equal(spawnSync('mknod', [denied, 'c', '240', '0']).status, 0);
  assert.equal(spawnSync('mknod', [allowed, 'c', '240', '1']).status, 0);
  // outside the cgroup both opens reach the (absent) driver
  assert.match(spawnSync('sh', ['-c', `head -c1 ${denied}`], { encoding: 'utf8' }).stderr, /No such device or address/);
  const r = inCgroup(dir, `head -c1 ${denied}; head -c1 ${allowed}; head -c1 /dev/zero | wc -c; echo x > ${allowed}`);
  const lines = r.out;
  assert.match(lines, new RegExp(`${denied}' for reading: Operation not permitted`));
  assert.match(lines, new RegExp(`${allowed}' for reading: No such device or address`), 'read allowed: the open reaches the driver');
  assert.match(lines, /^1$/m, '/dev/zero is in the defaults');
  assert.match(lines, new RegExp(`cannot create ${allowed}: Operation not permitted`), 'write to the read-only rule is denied');
  m.destroy();
  assert.equal(existsSync(dir), false);
});

test('hugetlb limits on the real cgroup2 hierarchy, with the controller enabled down the path', () => {
  const sizes = hostHugePageSizes();
  need(sizes.includes('2MB'), '2MB huge pages');
  const m = manager('hugetlb');
  m.create({ resources: { hugepageLimits: [{ pageSize: '2MB', limit: 8388608 }] } });
  const dir = m.record().paths['']!;
  assert.match(readFileSync(join(PARENT, 'cgroup.subtree_control'), 'utf8'), /hugetlb/);
  assert.equal(readFileSync(join(dir, 'hugetlb.2MB.max'), 'utf8').trim(), '8388608');
  m.update({ resources: { hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] } }, { hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] });
  assert.equal(readFileSync(join(dir, 'hugetlb.2MB.max'), 'utf8').trim(), '4194304');
  assert.equal(m.stats().hugetlb['2MB']?.failcnt, 0);
  // memory is not a cgroup2 controller here: the error says so
  assert.throws(() => m.update({ resources: { memory: { limit: 1048576 } } }, {}), /cannot write memory\.max: the memory controller is not enabled .*available: hugetlb/);
  m.destroy();
});

test('join, freeze/thaw (cgroup.freeze, cgroup.events), pids, kill-all through cgroup.kill, destroy', async () => {
  const m = manager('freeze');
  m.create({ resources: {} });
  const dir = m.record().paths['']!;
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', (_c, sig) => r(sig)));
  m.join(child.pid!);
  assert.deepEqual(m.pids(), [child.pid]);
  m.freeze();
  assert.equal(m.isFrozen(), true);
  assert.match(readFileSync(join(dir, 'cgroup.events'), 'utf8'), /frozen 1/);
  m.thaw();
  assert.equal(m.isFrozen(), false);
  need(existsSync(join(dir, 'cgroup.kill')), 'cgroup.kill (Linux 5.14+)');
  m.killAll(9);
  assert.equal(await exited, 'SIGKILL');
  const deadline = Date.now() + 5000;
  while (m.pids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(m.stats().pids.current, undefined, 'no process left');
  m.destroy();
  assert.equal(existsSync(dir), false);
});
