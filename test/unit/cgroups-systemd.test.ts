// The systemd driver's pure parts: runc's cgroupsPath reading, slice nesting, CPU bitmasks, the
// unit properties for v1 and v2, device rules, where systemd is reached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceProperties, expandSlice, newSystemdCgroup, parseSystemdCgroupsPath, rangeToBits, resourceProperties, unitProperties } from '../../src/cgroups/systemd';
import { systemdTarget, SYSTEMD_PRIVATE_SOCKET, SYSTEM_BUS_SOCKET } from '../../src/dbus/systemd';
import { Variant } from '../../src/dbus/marshal';
import type { DeviceRule } from '../../src/cgroups/devices';

const MAX = 2n ** 64n - 1n;
const asMap = (props: Array<[string, Variant]>) => new Map(props.map(([k, v]) => [k, v.value]));

test('cgroupsPath: slice:prefix:name, the default when absent, slices, refusals', () => {
  assert.deepEqual(parseSystemdCgroupsPath(undefined, 'abc'), { unit: 'tsrun-abc.scope', slice: 'system.slice', type: 'Scope' });
  assert.deepEqual(parseSystemdCgroupsPath('', 'abc'), { unit: 'tsrun-abc.scope', slice: 'system.slice', type: 'Scope' });
  assert.deepEqual(parseSystemdCgroupsPath('machine.slice:libpod:123', 'x'), { unit: 'libpod-123.scope', slice: 'machine.slice', type: 'Scope' });
  assert.deepEqual(parseSystemdCgroupsPath(':cri-containerd:9f', 'x'), { unit: 'cri-containerd-9f.scope', slice: 'system.slice', type: 'Scope' });
  assert.deepEqual(parseSystemdCgroupsPath('kubepods.slice::kubepods-pod1.slice', 'x'), { unit: 'kubepods-pod1.slice', slice: 'kubepods.slice', type: 'Slice' });
  assert.throws(() => parseSystemdCgroupsPath('/abs/path', 'x'), /expected "slice:prefix:name" with --systemd-cgroup/);
  assert.throws(() => parseSystemdCgroupsPath('a:b', 'x'), /expected "slice:prefix:name"/);
  assert.throws(() => parseSystemdCgroupsPath('system:p:n', 'x'), /slice: invalid slice name "system"/);
  assert.throws(() => parseSystemdCgroupsPath('system.slice:p:', 'x'), /the name part .* is empty/);
  assert.throws(() => parseSystemdCgroupsPath('system.slice:p:a b', 'x'), /"p-a b\.scope" is not a valid systemd unit name/);
});

test('slices nest by their dashes, as systemd names them', () => {
  assert.equal(expandSlice('system.slice'), '/system.slice');
  assert.equal(expandSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
  assert.equal(expandSlice('-.slice'), '/');
  for (const bad of ['.slice', 'a--b.slice', '-a.slice', 'a/b.slice', 'a.scope']) assert.throws(() => expandSlice(bad), /invalid slice name/, bad);
});

test('CPU lists become little-endian bitmasks', () => {
  assert.deepEqual(rangeToBits('0', 'f'), Buffer.from([1]));
  assert.deepEqual(rangeToBits('0-2,7', 'f'), Buffer.from([0x87]));
  assert.deepEqual(rangeToBits('9', 'f'), Buffer.from([0, 2]));
  assert.deepEqual(rangeToBits('1,8-9', 'f'), Buffer.from([2, 3]));
  assert.throws(() => rangeToBits('3-1', 'linux.resources.cpu.cpus'), /linux\.resources\.cpu\.cpus: invalid range "3-1"/);
  assert.throws(() => rangeToBits('x', 'linux.resources.cpu.cpus'), /invalid list "x"/);
});

test('v1 properties: MemoryLimit, CPUShares, quota rounded up to 10 ms, BlockIOWeight, TasksMax, cpuset from systemd 244', () => {
  const r = { resources: { memory: { limit: -1 }, cpu: { shares: 1024, quota: 12_345, period: 100_000, cpus: '1', mems: '0' }, blockIO: { weight: 500 }, pids: { limit: -1 } } };
  const p = asMap(resourceProperties('v1', r, 252, () => undefined));
  assert.equal(p.get('MemoryLimit'), MAX);
  assert.equal(p.get('CPUShares'), 1024n);
  assert.equal(p.get('CPUQuotaPeriodUSec'), 100_000n);
  assert.equal(p.get('CPUQuotaPerSecUSec'), 130_000n, '123450 µs/s rounded up to 130 ms');
  assert.equal(p.get('BlockIOWeight'), 500n);
  assert.equal(p.get('TasksMax'), MAX);
  assert.deepEqual(p.get('AllowedCPUs'), Buffer.from([2]));
  assert.deepEqual(p.get('AllowedMemoryNodes'), Buffer.from([1]));
  const old = asMap(resourceProperties('v1', r, 240, () => undefined));
  assert.equal(old.has('CPUQuotaPeriodUSec'), false, 'systemd < 242');
  assert.equal(old.has('AllowedCPUs'), false, 'systemd < 244');
  // a period alone lifts the quota; no limits at all: no properties
  assert.equal(asMap(resourceProperties('v1', { resources: { cpu: { period: 50_000 } } }, 252, () => undefined)).get('CPUQuotaPerSecUSec'), MAX);
  assert.deepEqual(resourceProperties('v1', { resources: {} }, 252, () => undefined), []);
});

test('v2 properties: MemoryMax/Low/SwapMax, CPUWeight from shares, IOWeight, unified entries', () => {
  const r = { resources: { memory: { limit: 100 << 20, reservation: 50 << 20, swap: 150 << 20 }, cpu: { shares: 1024 }, blockIO: { weight: 1000 }, unified: { 'memory.high': '90000000', 'pids.max': 'max', 'cpu.max': '20000 100000', 'io.weight': 'default 100' } } };
  const p = asMap(resourceProperties('v2', r, 252, () => undefined));
  assert.equal(p.get('MemoryMax'), BigInt(100 << 20));
  assert.equal(p.get('MemoryLow'), BigInt(50 << 20));
  assert.equal(p.get('MemorySwapMax'), BigInt(50 << 20), 'OCI swap is memory+swap');
  assert.equal(p.get('CPUWeight'), 39n);
  assert.equal(p.get('IOWeight'), 10000n);
  assert.equal(p.get('MemoryHigh'), 90_000_000n);
  assert.equal(p.get('TasksMax'), MAX);
  assert.equal(p.get('CPUQuotaPerSecUSec'), 200_000n);
  assert.equal(p.has('MemoryLimit'), false);
  assert.throws(() => resourceProperties('v2', { resources: { memory: { swap: 10 } } }, 252, () => undefined), /swap limit without a memory limit/);
  assert.throws(() => resourceProperties('v2', { resources: { unified: { 'memory.max': 'lots' } } }, 252, () => undefined), /"memory\.max": "lots" is not a number or "max"/);
});

test('unit properties: a scope gets Slice, PIDs, Delegate; a slice gets Wants and no Delegate', () => {
  const scope = asMap(unitProperties({ unit: 'p-x.scope', slice: 'system.slice', type: 'Scope' }, 'desc', 42, 'v2', { resources: {} }, 252, () => undefined));
  assert.equal(scope.get('Slice'), 'system.slice');
  assert.deepEqual(scope.get('PIDs'), [42]);
  assert.equal(scope.get('Delegate'), true);
  assert.equal(scope.get('IOAccounting'), true);
  assert.equal(scope.get('DefaultDependencies'), false);
  const slice = asMap(unitProperties({ unit: 'a-b.slice', slice: 'a.slice', type: 'Slice' }, 'desc', 42, 'v1', { resources: {} }, 252, () => undefined));
  assert.deepEqual(slice.get('Wants'), ['a.slice']);
  assert.equal(slice.has('Delegate'), false);
  assert.equal(slice.get('BlockIOAccounting'), true);
});

test('device rules: an allow-list is DevicePolicy=strict with paths and major names; a deny-list stays with the files', () => {
  const procDevices = 'Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  8 sd\n';
  const rules: DeviceRule[] = [
    { type: 'a', major: -1, minor: -1, access: 'rwm', allow: false },
    { type: 'c', major: 1, minor: 3, access: 'rwm', allow: true },
    { type: 'c', major: 136, minor: -1, access: 'rw', allow: true },
    { type: 'b', major: -1, minor: -1, access: 'm', allow: true },
    { type: 'c', major: 250, minor: -1, access: 'r', allow: true },
  ];
  const warnings: string[] = [];
  const p = asMap(deviceProperties(rules, procDevices, (m) => warnings.push(m)));
  assert.equal(p.get('DevicePolicy'), 'strict');
  assert.deepEqual(new Set(p.get('DeviceAllow') as Array<[string, string]>), new Set([['/dev/char/1:3', 'rwm'], ['char-pts', 'rw'], ['block-*', 'm']]));
  assert.match(warnings.join('\n'), /c 250:\* has no name in \/proc\/devices/);
  const deny = asMap(deviceProperties([{ type: 'a', major: -1, minor: -1, access: 'rwm', allow: true }, { type: 'c', major: 5, minor: 1, access: 'rwm', allow: false }], procDevices, (m) => warnings.push(m)));
  assert.equal(deny.get('DevicePolicy'), 'auto');
  assert.deepEqual(deny.get('DeviceAllow'), []);
  assert.match(warnings.join('\n'), /systemd has no deny-list/);
});

test('where systemd is reached: DBUS_SYSTEM_BUS_ADDRESS, else the private socket for root, else the system bus', () => {
  assert.deepEqual(systemdTarget({ DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/tmp/x%20y' }, 0), { path: '/tmp/x y', bus: true });
  assert.deepEqual(systemdTarget({ DBUS_SYSTEM_BUS_ADDRESS: 'tcp:host=a;unix:abstract=/tmp/dbus-1' }, 0), { path: '\0/tmp/dbus-1', bus: true });
  assert.deepEqual(systemdTarget({}, 0), { path: SYSTEMD_PRIVATE_SOCKET, bus: false });
  assert.deepEqual(systemdTarget({}, 1000), { path: SYSTEM_BUS_SOCKET, bus: true });
  assert.throws(() => systemdTarget({ DBUS_SYSTEM_BUS_ADDRESS: 'tcp:host=a,port=1' }, 0), /no unix:path= or unix:abstract= socket/);
});

test('org.systemd.property.* annotations are refused rather than ignored', () => {
  const spec = { ociVersion: '1.3.0', annotations: { 'org.systemd.property.TimeoutStopUSec': 'uint64 1000000' }, linux: {} };
  assert.throws(() => newSystemdCgroup(spec, 'x', { layout: { mode: 'v2', v1: [], unified: { mountPoint: '/sys/fs/cgroup', root: '/' } }, selfCgroup: '0::/\n' }), /annotations: "org\.systemd\.property\.TimeoutStopUSec": unit properties from annotations are not supported/);
});
