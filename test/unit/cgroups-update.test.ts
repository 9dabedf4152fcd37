// `update` payloads: docker's zeros mean "unchanged", runc's flags, merging into the record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeResources, payloadFromFlags, ramInBytes, updateDelta, UpdateError } from '../../src/cgroups/update';

test("docker's payload: zeros dropped; a kernel memory limit is ignored with a warning", () => {
  const warnings: string[] = [];
  const delta = updateDelta(
    { memory: { limit: 67108864, reservation: 0, swap: 134217728, kernel: 0 }, cpu: { shares: 0, quota: 0, period: 0 }, blockIO: { weight: 0 } },
    (w) => warnings.push(w),
  );
  assert.deepEqual(delta, { memory: { limit: 67108864, swap: 134217728 } });
  assert.equal(warnings.length, 0);
  assert.deepEqual(updateDelta({ memory: { kernel: 1048576, kernelTCP: 65536 } }, (w) => warnings.push(w)), { memory: { kernelTCP: 65536 } });
  assert.match(warnings[0]!, /memory\.kernel .* is ignored/);
  assert.deepEqual(updateDelta({ memory: { limit: 67108864, swap: 134217728 } }), { memory: { limit: 67108864, swap: 134217728 } });
  assert.deepEqual(updateDelta({ pids: { limit: 0 }, cpu: { cpus: '' } }), {});
  assert.deepEqual(updateDelta({ pids: { limit: -1 }, unified: { 'memory.high': '1' } }), { pids: { limit: -1 }, unified: { 'memory.high': '1' } });
  assert.throws(() => updateDelta([1]), UpdateError);
  assert.throws(() => updateDelta({ memory: { limit: '1' } }), /memory\.limit: expected an integer/);
  const devWarnings: string[] = [];
  assert.deepEqual(updateDelta({ devices: [{ allow: true, access: 'r' }] }, (w) => devWarnings.push(w)), {});
  assert.match(devWarnings[0]!, /device rules cannot be changed/);
});

test("runc's flags: sizes with units, -1, integers", () => {
  assert.equal(ramInBytes('128m'), 134217728);
  assert.equal(ramInBytes('1g'), 1073741824);
  assert.equal(ramInBytes('512KiB'), 524288);
  assert.equal(ramInBytes('1024'), 1024);
  assert.equal(ramInBytes('-1'), -1);
  assert.throws(() => ramInBytes('12x'), /invalid size/);
  const p = payloadFromFlags({ memory: '16m', memorySwap: '-1', cpuShare: '256', cpuQuota: '-1', pidsLimit: '20', cpusetCpus: '0-1', blkioWeight: '300' });
  assert.deepEqual(updateDelta(p), { memory: { limit: 16777216, swap: -1 }, cpu: { cpus: '0-1', shares: 256, quota: -1 }, blockIO: { weight: 300 }, pids: { limit: 20 } });
  assert.throws(() => payloadFromFlags({ cpuShare: '-5' }), /invalid value for cpu-share/);
  assert.throws(() => payloadFromFlags({ memory: 'lots' }), /invalid value for memory/);
});

test('mergeResources: sections merged, fields replaced, arrays replaced', () => {
  const base = { memory: { limit: 1, swap: 2 }, cpu: { shares: 3 }, hugepageLimits: [{ pageSize: '2MB', limit: 1 }] };
  assert.deepEqual(mergeResources(base, { memory: { limit: 10 }, hugepageLimits: [{ pageSize: '1GB', limit: 2 }] }), {
    memory: { limit: 10, swap: 2 },
    cpu: { shares: 3 },
    hugepageLimits: [{ pageSize: '1GB', limit: 2 }],
  });
  assert.deepEqual(mergeResources(undefined, { pids: { limit: 1 } }), { pids: { limit: 1 } });
});
