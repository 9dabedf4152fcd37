// The pure parts of the OCI 1.3 additions: CPU/node lists, memoryPolicy planning, CPU affinity
// planning, LISTEN_FDS, idmapped mount planning, bit masks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseList } from '../../src/init/cpu-list';
import { planMemoryPolicy } from '../../src/init/memory-policy';
import { planCpuAffinity } from '../../src/init/cpu-affinity';
import { listenFds, applySocketActivation } from '../../src/runtime/socket-activation';
import { planIdmappedMounts } from '../../src/runtime/idmap-mounts';
import { bitmask, bitsOf } from '../../src/linux/numa';
import { checkNetDevices } from '../../src/runtime/net-devices';
import type { Spec } from '../../src/spec';

test('parseList: ranges, singles, duplicates, errors', () => {
  assert.deepEqual(parseList('0-3,7', 'x'), [0, 1, 2, 3, 7]);
  assert.deepEqual(parseList(' 3 , 1-2,2 ', 'x'), [1, 2, 3]);
  assert.deepEqual(parseList('', 'x'), []);
  assert.throws(() => parseList('3-1', 'nodes'), /nodes: invalid range "3-1"/);
  assert.throws(() => parseList('a', 'nodes'), /nodes: invalid list "a"/);
  assert.throws(() => parseList('9000', 'cpus'), /cpus: 9000 is out of range/);
});

test('bitmask/bitsOf round trip', () => {
  const m = bitmask([0, 9, 63, 64]);
  assert.equal(m.length, 1024);
  assert.equal(m[0], 1);
  assert.equal(m[1], 2);
  assert.deepEqual(bitsOf(m), [0, 9, 63, 64]);
});

test('planMemoryPolicy: modes, flags, node rules', () => {
  assert.equal(planMemoryPolicy(undefined), undefined);
  assert.deepEqual(planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0-1' }, [0, 1]), { modeAndFlags: 2, nodes: [0, 1], description: 'MPOL_BIND nodes 0-1' });
  assert.equal(planMemoryPolicy({ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, [0])?.modeAndFlags, 3 | (1 << 15));
  assert.equal(planMemoryPolicy({ mode: 'MPOL_WEIGHTED_INTERLEAVE', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES'] }, [0])?.modeAndFlags, 6 | (1 << 14));
  assert.equal(planMemoryPolicy({ mode: 'MPOL_PREFERRED' }, [0])?.nodes.length, 0);
  assert.throws(() => planMemoryPolicy({ mode: 'MPOL_BIND' }, [0]), /MPOL_BIND needs nodes/);
  assert.throws(() => planMemoryPolicy({ mode: 'MPOL_DEFAULT', nodes: '0' }, [0]), /MPOL_DEFAULT takes no nodes/);
  assert.throws(() => planMemoryPolicy({ mode: 'MPOL_LOCAL', flags: ['MPOL_F_STATIC_NODES'] }, [0]), /MPOL_LOCAL takes no flags/);
  assert.throws(() => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] }, [0]), /mutually exclusive/);
  assert.throws(() => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0,2-3' }, [0, 1]), /NUMA nodes 2,3 do not exist on this host \(online nodes: 0,1\)/);
  // relative node numbers are not host node numbers
  assert.ok(planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '5', flags: ['MPOL_F_RELATIVE_NODES'] }, [0]));
  assert.throws(() => planMemoryPolicy({ mode: 'MPOL_RANDOM' as never }, [0]), /unknown mode "MPOL_RANDOM"/);
});

test('planCpuAffinity: initial and final lists', () => {
  assert.deepEqual(planCpuAffinity({ cwd: '/', execCPUAffinity: { initial: '0-1', final: '1' } }), { initial: [0, 1], final: [1] });
  assert.deepEqual(planCpuAffinity({ cwd: '/', execCPUAffinity: { final: '' } }), { initial: undefined, final: undefined });
  assert.deepEqual(planCpuAffinity({ cwd: '/' }), { initial: undefined, final: undefined });
  assert.throws(() => planCpuAffinity({ cwd: '/', execCPUAffinity: { initial: 'x' } }), /process\.execCPUAffinity\.initial: invalid list/);
});

test('LISTEN_FDS: only when LISTEN_PID is ours; the env and the fd count follow', () => {
  assert.equal(listenFds({ LISTEN_PID: '42', LISTEN_FDS: '2' }, 42), 2);
  assert.equal(listenFds({ LISTEN_PID: '41', LISTEN_FDS: '2' }, 42), 0);
  assert.equal(listenFds({ LISTEN_PID: '42', LISTEN_FDS: 'x' }, 42), 0);
  const spec: Spec = { ociVersion: '1.3.0', process: { cwd: '/', env: ['A=1', 'LISTEN_FDS=9'] } };
  const saved = { ...process.env };
  try {
    process.env.LISTEN_PID = String(process.pid);
    process.env.LISTEN_FDS = '3';
    const o = applySocketActivation(spec, { preserveFds: 2 });
    assert.equal(o.preserveFds, 5);
    assert.deepEqual(spec.process?.env, ['A=1', 'LISTEN_FDS=3', 'LISTEN_PID=1']);
  } finally {
    process.env = saved;
  }
});

test('planIdmappedMounts: explicit mappings, the container\'s, and refusals', () => {
  const map = [{ containerID: 0, hostID: 1000, size: 1 }];
  const spec: Spec = {
    ociVersion: '1.3.0',
    mounts: [
      { destination: '/a', source: '/x', type: 'bind', options: ['bind'] },
      { destination: '/b', source: '/x', type: 'bind', uidMappings: map, gidMappings: map },
      { destination: '/c', source: '/x', options: ['rbind', 'ridmap'] },
    ],
    linux: { uidMappings: [{ containerID: 0, hostID: 5, size: 9 }], gidMappings: [{ containerID: 0, hostID: 6, size: 9 }] },
  };
  const plan = planIdmappedMounts(spec).map((r) => [r.index, r.uid[0]?.hostID, r.gid[0]?.hostID]);
  assert.deepEqual(plan, [[1, 1000, 1000], [2, 5, 6]]);
  assert.throws(() => planIdmappedMounts({ ociVersion: '1.3.0', mounts: [{ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }] }), /bind mounts only/);
  assert.throws(() => planIdmappedMounts({ ociVersion: '1.3.0', mounts: [{ destination: '/t', source: '/x', type: 'bind', options: ['idmap'] }] }), /needs the container's user namespace mappings/);
});

test('checkNetDevices: a network namespace, valid and distinct names', () => {
  const base = (netDevices: Record<string, { name?: string }>, withNet = true): Spec => ({ ociVersion: '1.3.0', linux: { namespaces: withNet ? [{ type: 'network' }] : [], netDevices } });
  checkNetDevices(base({ eth1: { name: 'ctr1' }, eth2: {} }));
  assert.throws(() => checkNetDevices(base({ eth1: {} }, false)), /no network namespace of its own/);
  assert.throws(() => checkNetDevices(base({ eth1: { name: 'a/b' } })), /invalid name "a\/b"/);
  assert.throws(() => checkNetDevices(base({ eth1: { name: 'averyveryverylongname' } })), /invalid name/);
  assert.throws(() => checkNetDevices(base({ eth1: { name: 'x' }, eth2: { name: 'x' } })), /eth1 and eth2 would both be named x/);
});
