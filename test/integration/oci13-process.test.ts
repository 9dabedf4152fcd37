// OCI 1.3 process/placement settings seen from inside real containers: linux.memoryPolicy
// (the task's NUMA policy through /proc/self/numa_maps), process.execCPUAffinity (initial and
// final, through Cpus_allowed_list, for the init and for exec), and linux.intelRdt's error on a
// host without resctrl.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { tsrun, tsrunToFiles, uniqueId, type Result } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot } from '../helpers/bundle';

const root = stateRoot('oci13-process');
const rt = (args: string[]): Result => tsrun(['--root', root, ...args]);

after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
});

/** The policy column of the first line of numa_maps (the task policy for mappings without one). */
const NUMA = 'cat /proc/self/numa_maps | head -1 | cut -d" " -f2';
const onlineNodes = readFileSync('/sys/devices/system/node/online', 'utf8').trim();

function runWith(mutate: (c: ReturnType<typeof baseConfig>) => void, script: string): Result {
  const config = baseConfig(['sh', '-c', script]);
  mutate(config);
  return rt(['run', '--bundle', makeBundle(config), uniqueId('o13')]);
}

test('memoryPolicy: MPOL_BIND to node 0 is the process policy inside the container', () => {
  assert.match(onlineNodes, /^0/, 'this test needs NUMA node 0');
  const r = runWith((c) => { c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' }; }, NUMA);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'bind:0');
});

test('memoryPolicy: interleave with static nodes, preferred, local, default', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, 'interleave=static:0'],
    [{ mode: 'MPOL_PREFERRED', nodes: '0' }, 'prefer:0'],
    [{ mode: 'MPOL_LOCAL' }, 'local'],
    [{ mode: 'MPOL_DEFAULT' }, 'default'],
  ];
  for (const [policy, want] of cases) {
    const r = runWith((c) => { c.linux.memoryPolicy = policy; }, NUMA);
    assert.equal(r.code, 0, `${JSON.stringify(policy)}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), want, JSON.stringify(policy));
  }
});

test('memoryPolicy: a node this host does not have fails create with a clear error', () => {
  const r = runWith((c) => { c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0,63' }; }, 'true');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /linux\.memoryPolicy\.nodes: NUMA node 63 does not exist on this host/);
  const k = runWith((c) => { c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '63', flags: ['MPOL_F_STATIC_NODES'] }; }, 'true');
  assert.notEqual(k.code, 0, 'the kernel refuses a static node set with no allowed node');
  assert.match(k.stderr, /linux\.memoryPolicy: set_mempolicy.*EINVAL/);
  const m = runWith((c) => { c.linux.memoryPolicy = { mode: 'MPOL_LOCAL', nodes: '0' }; }, 'true');
  assert.match(m.stderr, /MPOL_LOCAL takes no nodes/);
});

test('execCPUAffinity: initial alone stays, final replaces it (init and exec)', () => {
  assert.ok(cpus().length >= 2, 'this test needs 2 CPUs');
  const list = 'grep Cpus_allowed_list /proc/self/status | cut -f2';
  let r = runWith((c) => { c.process.execCPUAffinity = { initial: '1' }; }, list);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '1');
  r = runWith((c) => { c.process.execCPUAffinity = { initial: '1', final: '0' }; }, list);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '0');
  r = runWith((c) => { c.process.execCPUAffinity = { initial: '0-1' }; }, list);
  assert.equal(r.stdout.trim(), '0-1');
  r = runWith((c) => { c.process.execCPUAffinity = { final: '5000' }; }, 'true');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /process\.execCPUAffinity\.final: sched_setaffinity.*EINVAL/);

  // exec --process with its own execCPUAffinity
  const id = uniqueId('o13x');
  const config = baseConfig(['sleep', '1000']);
  const bundle = makeBundle(config);
  const c = tsrunToFiles(['--root', root, 'run', '--detach', '--bundle', bundle, id]);
  assert.equal(c.code, 0, c.stderr);
  try {
    const proc = { ...config.process, args: ['sh', '-c', list], execCPUAffinity: { initial: '0', final: '1' } };
    const file = join(bundle, 'process.json');
    writeFileSync(file, JSON.stringify(proc));
    const e = rt(['exec', '--process', file, id]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stdout.trim(), '1');
  } finally {
    rt(['delete', '--force', id]);
  }
});

test('intelRdt: refused, naming the missing resctrl filesystem', () => {
  const mounted = readFileSync('/proc/self/mounts', 'utf8').includes(' resctrl ');
  assert.ok(!mounted, 'this test expects a host without resctrl mounted');
  const r = runWith((c) => { c.linux.intelRdt = { closID: 'tsrun-test' }; }, 'true');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /linux\.intelRdt: .*resctrl filesystem.*not mounted at \/sys\/fs\/resctrl/);
});

test('personality: LINUX32 with a flag, seen through uname and /proc/self/personality', () => {
  assert.equal(process.arch, 'x64', 'LINUX32 is checked on x86_64');
  const r = runWith((c) => { c.linux.personality = { domain: 'LINUX32', flags: ['ADDR_NO_RANDOMIZE'] }; }, 'uname -m; cat /proc/self/personality');
  assert.equal(r.code, 0, r.stderr);
  const [machine, persona] = r.stdout.trim().split('\n');
  assert.equal(machine, 'i686');
  assert.equal(parseInt(persona ?? '', 16), 0x0008 | 0x0040000);
});
