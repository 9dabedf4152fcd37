// The real clients: ../shared/clients drives bin/tsrun through the exact command lines of
// containerd (ctr + shim v2), podman (conmon) and docker (dockerd + shim), plus a direct probe
// of the CLI contract. Each script starts its own private daemons and cleans up after itself.
// runc passes them with 25, 21, 21 and 23 steps on this kind of machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED, TSRUN } from '../helpers/tsrun';

const CLIENTS = join(SHARED, 'clients');

const SCRIPTS: Array<[script: string, runcSteps: number]> = [
  ['runtime-cli-probe.sh', 25],
  ['containerd-smoke.sh', 21],
  ['podman-smoke.sh', 21],
  ['docker-smoke.sh', 23],
];

for (const [script, runcSteps] of SCRIPTS) {
  test(`${script}: every step passes with tsrun (runc: ${runcSteps})`, () => {
    const path = join(CLIENTS, script);
    assert.ok(existsSync(path), `${path} is missing: the client scripts live in ../shared/clients`);
    const r = spawnSync('bash', [path, TSRUN], { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = `${r.stdout}\n${r.stderr}`;
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
    assert.ok(summary, `no summary line from ${script} (exit ${r.status}):\n${output.slice(-4000)}`);
    const failures = output.split('\n').filter((l) => l.startsWith('FAIL:'));
    assert.deepEqual(failures, [], `${script} failed steps:\n${output.slice(-6000)}`);
    assert.equal(r.status, 0, output.slice(-4000));
    assert.ok(Number(summary[1]) >= runcSteps, `${script}: ${summary[1]} steps passed, runc passes ${runcSteps}`);
  });
}
