// Detecting the cgroup layout from mountinfo and placing a container's cgroup in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanCgroupPath, containerCgroupPaths, detectLayout, mountOf, CgroupLayoutError } from '../../src/cgroups/layout';

/** This machine's layout (cgroup v1 hybrid). */
const HYBRID = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices',
  '37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer',
  '38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio',
  '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  '42 31 0:32 / /mnt/again rw,relatime - cgroup cgroup rw,memory',
].join('\n');
const SELF_HYBRID = '9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n4:memory:/process_api/abc\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n';

const V2 = '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';
const MERGED = [
  '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
  '35 31 0:32 /docker/c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  '36 31 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices',
  '43 31 0:40 / /sys/fs/cgroup/misc rw - cgroup cgroup rw,name=misc',
].join('\n');

test('detectLayout: hybrid (v1 controllers + cgroup2 at unified), one entry per hierarchy', () => {
  const l = detectLayout(HYBRID);
  assert.equal(l.mode, 'hybrid');
  assert.deepEqual(l.unified, { mountPoint: '/sys/fs/cgroup/unified', root: '/' });
  assert.deepEqual(
    l.v1.map((h) => [h.controllers.join(','), h.mountPoint]),
    [
      ['cpu', '/sys/fs/cgroup/cpu'],
      ['cpuacct', '/sys/fs/cgroup/cpuacct'],
      ['cpuset', '/sys/fs/cgroup/cpuset'],
      ['memory', '/sys/fs/cgroup/memory'],
      ['devices', '/sys/fs/cgroup/devices'],
      ['freezer', '/sys/fs/cgroup/freezer'],
      ['blkio', '/sys/fs/cgroup/blkio'],
      ['pids', '/sys/fs/cgroup/pids'],
      ['name=systemd', '/sys/fs/cgroup/systemd'],
    ],
  );
});

test('detectLayout: v2 only, v1 only, none', () => {
  const v2 = detectLayout(V2);
  assert.equal(v2.mode, 'v2');
  assert.deepEqual(v2.unified, { mountPoint: '/sys/fs/cgroup', root: '/' });
  assert.equal(detectLayout(MERGED).mode, 'v1');
  assert.throws(() => detectLayout('22 1 0:21 / /proc rw - proc proc rw'), CgroupLayoutError);
});

test('containerCgroupPaths: absolute cgroupsPath is the same path under every hierarchy, incl. cgroup2 (hybrid, as runc)', () => {
  const p = containerCgroupPaths(detectLayout(HYBRID), '/default/ctr1', 'ctr1', SELF_HYBRID);
  assert.equal(p.memory, '/sys/fs/cgroup/memory/default/ctr1');
  assert.equal(p.cpu, '/sys/fs/cgroup/cpu/default/ctr1');
  assert.equal(p['name=systemd'], '/sys/fs/cgroup/systemd/default/ctr1');
  assert.equal(p[''], '/sys/fs/cgroup/unified/default/ctr1');
  assert.equal(Object.keys(p).length, 10);
});

test('containerCgroupPaths: relative and default paths are under our own cgroup of each hierarchy (runc 1.1.5)', () => {
  const l = detectLayout(HYBRID);
  const rel = containerCgroupPaths(l, 'pod/c2', 'c2', SELF_HYBRID);
  assert.equal(rel.memory, '/sys/fs/cgroup/memory/process_api/abc/pod/c2');
  assert.equal(rel.cpu, '/sys/fs/cgroup/cpu/pod/c2');
  assert.equal(rel[''], '/sys/fs/cgroup/unified/pod/c2');
  const dflt = containerCgroupPaths(l, undefined, 'myid', SELF_HYBRID);
  assert.equal(dflt.memory, '/sys/fs/cgroup/memory/process_api/abc/myid');
  assert.equal(dflt.devices, '/sys/fs/cgroup/devices/myid');
  // "..": cleaned as if absolute, it cannot climb out of our cgroup
  assert.equal(containerCgroupPaths(l, '../../x', 'c', SELF_HYBRID).memory, '/sys/fs/cgroup/memory/process_api/abc/x');
  assert.equal(containerCgroupPaths(l, '/a/../../b/', 'c', SELF_HYBRID).memory, '/sys/fs/cgroup/memory/b');
  assert.throws(() => containerCgroupPaths(l, '/', 'c', SELF_HYBRID), /root cgroup/);
});

test('containerCgroupPaths: v2 relative paths go under the parent of our cgroup (runc fs2), merged and named hierarchies', () => {
  const p = containerCgroupPaths(detectLayout(V2), 'c3', 'c3', '0::/user.slice/session-1.scope\n');
  assert.deepEqual(p, { '': '/sys/fs/cgroup/user.slice/c3' });
  assert.deepEqual(containerCgroupPaths(detectLayout(V2), '/x/y', 'c3', '0::/a\n'), { '': '/sys/fs/cgroup/x/y' });
  const m = containerCgroupPaths(detectLayout(MERGED), 'c4', 'c4', '3:memory:/docker/c1/inner\n2:cpu,cpuacct:/\n1:devices:/\n');
  assert.equal(m.cpu, '/sys/fs/cgroup/cpu,cpuacct/c4');
  assert.equal(m.cpuacct, '/sys/fs/cgroup/cpu,cpuacct/c4');
  // the memory hierarchy is mounted from /docker/c1: our /docker/c1/inner is /inner there
  assert.equal(m.memory, '/sys/fs/cgroup/memory/inner/c4');
  assert.equal(m['name=misc'], undefined, 'named hierarchies other than systemd are not ours');
});

test('cleanCgroupPath and mountOf', () => {
  assert.equal(cleanCgroupPath('/a//b/./c/'), '/a/b/c');
  assert.equal(cleanCgroupPath('a/../../b'), 'b');
  assert.equal(cleanCgroupPath(''), '');
  const l = detectLayout(HYBRID);
  assert.equal(mountOf(l, '/sys/fs/cgroup/unified/x'), '/sys/fs/cgroup/unified');
  assert.equal(mountOf(l, '/sys/fs/cgroup/cpuacct/x'), '/sys/fs/cgroup/cpuacct');
  assert.equal(mountOf(l, '/elsewhere'), undefined);
});
