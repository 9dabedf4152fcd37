// applySystemSettings (hostname, domainname, sysctl), the sysctl key → path validation, and
// the pure helpers of the rootfs code (mountinfo parsing, flag conversions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSyscalls } from '../../src/linux/fake';
import * as C from '../../src/linux/constants';
import type { Spec } from '../../src/spec';
import { applySysctl, applySystemSettings, sysctlPath } from '../../src/init/system';
import { cgroupV1Hierarchies, parseMountInfo } from '../../src/init/rootfs/mountinfo';
import { describeMountFlags, statvfsToMountFlags } from '../../src/init/rootfs/flags';
import { cleanPath, splitPath } from '../../src/init/rootfs/paths';
import { parseMountOptions } from '../../src/runtime/mount-options';

function spec(over: Partial<Spec> = {}): Spec {
  return { ociVersion: '1.2.0', linux: { namespaces: [{ type: 'uts' }, { type: 'mount' }] }, ...over };
}

test('sysctlPath: dots become slashes; a key with "/" is taken as slash-separated', () => {
  assert.equal(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  assert.equal(sysctlPath('kernel.msgmax'), '/proc/sys/kernel/msgmax');
  assert.equal(sysctlPath('net/ipv4/conf/eth0.100/forwarding'), '/proc/sys/net/ipv4/conf/eth0.100/forwarding');
});

test('sysctlPath refuses keys that could name a file outside /proc/sys, naming the key', () => {
  const bad = ['', '..', 'kernel..msgmax', '.kernel', 'kernel.', 'net/../../etc/passwd', '/etc/passwd', 'a/./b', 'a//b', '../x', 'a\0b'];
  for (const key of bad) {
    assert.throws(() => sysctlPath(key), (e: unknown) => {
      assert.ok((e as Error).message.startsWith(`sysctl ${JSON.stringify(key)}: invalid key`), (e as Error).message);
      return true;
    });
  }
});

test('applySysctl validates every key before writing any; write errors name the key and file', () => {
  const writes: string[] = [];
  const w = (p: string, v: string): void => {
    writes.push(`${p}=${v}`);
  };
  assert.throws(() => applySysctl({ 'kernel.msgmax': '1', 'net/../../../etc/shadow': 'x' }, w), /invalid key/);
  assert.deepEqual(writes, []);
  applySysctl({ 'kernel.msgmax': '1', 'net.ipv4.ip_forward': '0' }, w);
  assert.deepEqual(writes, ['/proc/sys/kernel/msgmax=1', '/proc/sys/net/ipv4/ip_forward=0']);
  assert.throws(
    () =>
      applySysctl({ 'kernel.nope': '1' }, () => {
        throw Object.assign(new Error("ENOENT: no such file or directory, open '/proc/sys/kernel/nope'"), { code: 'ENOENT' });
      }),
    (e: unknown) => {
      assert.equal((e as Error).message, "sysctl kernel.nope=1: write /proc/sys/kernel/nope: ENOENT: no such file or directory, open '/proc/sys/kernel/nope'");
      assert.equal((e as { code?: string }).code, 'ENOENT');
      return true;
    },
  );
});

test('applySystemSettings: hostname and domainname set; empty ones skipped', () => {
  const sys = new FakeSyscalls();
  applySystemSettings(sys, spec({ hostname: 'box', domainname: 'example.org' }), () => assert.fail('no sysctl expected'));
  assert.deepEqual(sys.names(), ['sethostname', 'setdomainname']);
  assert.equal(sys.hostname, 'box');
  assert.equal(sys.domainname, 'example.org');
  const none = new FakeSyscalls();
  applySystemSettings(none, spec({ hostname: '' }));
  assert.deepEqual(none.names(), []);
});

test("applySystemSettings refuses to set a hostname without the container's own UTS namespace", () => {
  const sys = new FakeSyscalls();
  assert.throws(
    () => applySystemSettings(sys, spec({ hostname: 'box', linux: { namespaces: [{ type: 'mount' }] } })),
    /^RootfsError: hostname "box": setting it needs a UTS namespace/,
  );
  assert.deepEqual(sys.callsTo('sethostname'), []);
  const err = new FakeSyscalls().failOn('sethostname', undefined, 'EPERM');
  assert.throws(() => applySystemSettings(err, spec({ hostname: 'box' })), /^RootfsError: set hostname "box": sethostname box: EPERM: Operation not permitted$/);
});

test('applySystemSettings writes every sysctl value, in order', () => {
  const writes: string[] = [];
  const w = (p: string, v: string): void => {
    writes.push(`${p}=${v}`);
  };
  applySystemSettings(new FakeSyscalls(), spec({ linux: { namespaces: [{ type: 'uts' }], sysctl: { 'kernel.msgmax': '7', 'net.ipv4.ip_forward': '1' } } }), w);
  assert.deepEqual(writes, ['/proc/sys/kernel/msgmax=7', '/proc/sys/net/ipv4/ip_forward=1']);
});

test('parseMountInfo: optional fields, escapes; cgroupV1Hierarchies: one per hierarchy, no rw/release_agent', () => {
  const text = [
    '27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '60 27 0:50 / /mnt/with\\040space rw master:3 propagate_from:2 - tmpfs tmpfs rw,size=4k',
    '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
    '33 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
    '40 31 0:37 /docker/abc /sys/fs/cgroup/systemd rw - cgroup cgroup ro,release_agent=/x,name=systemd',
    '41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
    'garbage line',
  ].join('\n');
  const m = parseMountInfo(text);
  assert.equal(m.length, 6);
  assert.deepEqual(m[0]!.optional, ['shared:1']);
  assert.equal(m[1]!.mountPoint, '/mnt/with space');
  assert.deepEqual(m[1]!.optional, ['master:3', 'propagate_from:2']);
  assert.deepEqual(m[1]!.superOptions, ['rw', 'size=4k']);
  assert.deepEqual(cgroupV1Hierarchies(m), [
    { name: 'cpu,cpuacct', data: 'cpu,cpuacct', mountPoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/' },
    { name: 'systemd', data: 'name=systemd', mountPoint: '/sys/fs/cgroup/systemd', root: '/docker/abc' },
  ]);
});

test('flag helpers: statvfs → MS flags (atime enum), names; option parsing reports cleared flags', () => {
  assert.equal(statvfsToMountFlags(C.ST_RDONLY | C.ST_NOSUID | C.ST_RELATIME), C.MS_RDONLY | C.MS_NOSUID | C.MS_RELATIME);
  assert.equal(statvfsToMountFlags(C.ST_NOATIME), C.MS_NOATIME);
  assert.equal(statvfsToMountFlags(0), C.MS_STRICTATIME);
  assert.equal(describeMountFlags(C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY), 'MS_RDONLY|MS_REMOUNT|MS_BIND');
  assert.equal(describeMountFlags(0), '0');
  assert.equal(parseMountOptions(['bind', 'rw', 'suid']).cleared, C.MS_RDONLY | C.MS_NOSUID);
  assert.equal(parseMountOptions(['rw', 'ro']).cleared, 0);
  assert.equal(cleanPath('a/../../b/./c/'), '/b/c');
  assert.deepEqual(splitPath('//a/./b/'), ['a', 'b']);
});
