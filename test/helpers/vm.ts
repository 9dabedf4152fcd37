// The cgroup v2 VM lane from the host: runs a command in the throw-away VM of scripts/vm/run
// (qemu TCG, Debian's 6.1 kernel, pure cgroup v2, the host's root shared read-only) and turns
// the TAP of a node:test suite run there into results the host's tests can assert on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './tsrun';

export const VM_RUN = join(REPO, 'scripts', 'vm', 'run');

export interface VmResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs `command` as root in the VM, in the repository. The VM is killed after `timeoutSec`
 * (scripts/vm/run's --timeout; status 124); scripts/vm/run itself is SIGKILLed a minute later
 * if it still runs, or when this process dies, and its qemu dies with it (pdeathsig).
 */
export function runInVm(command: string[], options: { timeoutSec?: number; vmArgs?: string[] } = {}): Promise<VmResult> {
  const timeoutSec = options.timeoutSec ?? 600;
  const start = Date.now();
  return new Promise((resolve, reject) => {
    // setpriv --pdeathsig: the VM goes when this test process goes, even by SIGKILL
    const args = ['--pdeathsig', 'KILL', VM_RUN, '--timeout', String(timeoutSec), ...(options.vmArgs ?? []), '--', ...command];
    const child = spawn('setpriv', args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), (timeoutSec + 60) * 1000);
    child.on('error', (err) => {
      clearTimeout(killer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, seconds: (Date.now() - start) / 1000 });
    });
  });
}

/** What the VM lane needs on the host, or the reason it cannot run. */
export function vmMissing(): string | undefined {
  if (!existsSync('/usr/bin/qemu-system-x86_64')) return 'qemu-system-x86_64 (apt-get install --no-install-recommends qemu-system-x86)';
  for (const tool of ['/usr/bin/cpio', '/bin/busybox']) if (!existsSync(tool)) return `${tool} (cpio, busybox-static)`;
  return undefined;
}

export interface TapResult {
  name: string;
  ok: boolean;
  /** The YAML diagnostic block (error, expected/actual, stack) of a failed test. */
  detail: string;
}

/** The top-level test results of node:test's TAP output (`ok N - name` at column 0). */
export function parseTap(text: string): TapResult[] {
  const out: TapResult[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(not )?ok \d+ - (.*)$/.exec(lines[i]!);
    if (!m) continue;
    const detail: string[] = [];
    if (lines[i + 1] === '  ---') {
      for (i += 2; i < lines.length && lines[i] !== '  ...'; i++) detail.push(lines[i]!);
    }
    out.push({ name: m[2]!.replace(/\\#/g, '#'), ok: m[1] === undefined, detail: detail.join('\n') });
  }
  return out;
}

/** The `# tests N` / `# pass N` / `# fail N` summary of node:test's TAP output. */
export function tapSummary(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/**
 * Turns a node:test suite's run in the VM into the host test `t`: each guest test becomes a
 * subtest (failing with the guest's diagnostics), then the run as a whole must have reported at
 * least `minTests` results, all passed, and exited 0.
 */
export async function reportGuestSuite(t: TestContext, r: VmResult, minTests: number): Promise<void> {
  const guest = `guest exit ${r.code ?? r.signal} after ${r.seconds.toFixed(0)} s; its stderr:\n${r.stderr.slice(-4000)}`;
  const results = parseTap(r.stdout);
  for (const res of results) {
    await t.test(`[vm] ${res.name}`, () => {
      if (!res.ok) assert.fail(`failed in the VM:\n${res.detail}`);
    });
  }
  const summary = tapSummary(r.stdout);
  assert.ok(results.length >= minTests, `the guest suite reported ${results.length} results (expected at least ${minTests})\n${guest}\n${r.stdout.slice(-4000)}`);
  assert.equal(summary.tests, results.length, `every guest test reported\n${guest}`);
  assert.equal(summary.pass, results.length, `every guest test passed\n${guest}`);
  assert.equal(r.code, 0, guest);
}
