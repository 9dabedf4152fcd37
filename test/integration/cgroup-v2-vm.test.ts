// The cgroup v2 lane: this host is cgroup v1 hybrid, so tsrun's v2 driver runs for real in a
// throw-away VM (scripts/vm/run: qemu TCG, Debian's 6.1 kernel with cgroup_no_v1=all and every
// controller enabled). The guest runs test/vm/cgroup-v2.test.ts (real containers, limits read
// back from the cgroup files, OOM, freezer, events, ...) with node:test; each of its tests
// becomes a subtest here, failing with the guest's diagnostics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { need } from '../helpers/need';
import { REPO, TSRUN } from '../helpers/tsrun';
import { parseTap, reportGuestSuite, runInVm, tapSummary, vmMissing } from '../helpers/vm';

const SUITE = 'build/test/vm/cgroup-v2.test.js';

test('parseTap: top-level results with their diagnostics; nested subtests and comments ignored', () => {
  const tap = ['TAP version 13', '# Subtest: a', 'ok 1 - a', '  ---', '  duration_ms: 1', '  ...', '# Subtest: b \\# 2', '    ok 1 - inner', 'not ok 2 - b \\# 2', '  ---', "  error: 'boom'", '  ...', '1..2', '# tests 2', '# pass 1', '# fail 1'].join('\n');
  assert.deepEqual(parseTap(tap), [
    { name: 'a', ok: true, detail: '  duration_ms: 1' },
    { name: 'b # 2', ok: false, detail: "  error: 'boom'" },
  ]);
  assert.deepEqual(tapSummary(tap), { tests: 2, pass: 1, fail: 1 });
});

test('cgroup v2 in a VM: tsrun\'s real v2 checks on a pure cgroup v2 kernel', { timeout: 900_000 }, async (t) => {
  const missing = vmMissing();
  need(missing === undefined, `the VM lane needs ${missing}`);
  need(existsSync(TSRUN), `${TSRUN} (make build)`);
  need(existsSync(join(REPO, SUITE)), `${SUITE} (make build/test/.stamp)`);
  const r = await runInVm(['node', '--test', '--test-reporter=tap', '--test-concurrency=1', SUITE], { timeoutSec: 600 });
  await reportGuestSuite(t, r, 10);
  t.diagnostic(`VM lane: ${r.seconds.toFixed(1)} s (${/vm\/run: .*$/m.exec(r.stderr)?.[0] ?? ''})`);
});
