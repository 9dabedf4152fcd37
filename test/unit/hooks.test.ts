// OCI hooks (src/runtime/hooks.ts), run for real with /bin/sh: state on stdin, argv0, exact
// env, error messages, timeouts, missing binaries, stop-at-first-failure vs collect-all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hook } from '../../src/spec';
import { HookError, runHooks, runHooksCollectingErrors, runHooksSync } from '../../src/runtime/hooks';

const STATE = { ociVersion: '1.2.0', id: 'hooks-test', status: 'creating', pid: 4242, bundle: '/b', annotations: { a: 'b' } };

function withTemp(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-test-hooks-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** A /bin/sh hook running `script`, with OUT=<file> in its env (plus `env`). */
function sh(script: string, out: string, extra: { env?: string[]; timeout?: number } = {}): Hook {
  return { path: '/bin/sh', args: ['sh', '-c', script], env: [`OUT=${out}`, ...(extra.env ?? [])], ...(extra.timeout ? { timeout: extra.timeout } : {}) };
}

/** Lines of a NUL-separated /proc file copied by a hook. */
function nulList(file: string): string[] {
  return readFileSync(file, 'utf8').split('\0').filter((s) => s !== '');
}

type Runner = (phase: 'prestart', hooks: Hook[], state: object) => Promise<void>;
const RUNNERS: Array<[string, Runner]> = [
  ['runHooks', (p, h, s) => runHooks(p, h, s)],
  ['runHooksSync', async (p, h, s) => runHooksSync(p, h, s)],
  [
    'runHooksCollectingErrors',
    async (p, h, s) => {
      const errors = await runHooksCollectingErrors(p, h, s);
      if (errors.length > 0) throw new HookError(errors.join('\n'));
    },
  ],
];

for (const [name, run] of RUNNERS) {
  test(`${name}: the state arrives as JSON on stdin`, withTemp(async (dir) => {
    const out = join(dir, 'stdin');
    await run('prestart', [sh('cat > "$OUT"', out)], STATE);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), STATE);
  }));

  test(`${name}: args[0] is argv[0] and the rest are the arguments`, withTemp(async (dir) => {
    const out = join(dir, 'cmdline');
    const hook: Hook = { path: '/bin/sh', args: ['my-argv0', '-c', 'cat /proc/$$/cmdline > "$OUT"', 'x', 'y z'], env: [`OUT=${out}`] };
    await run('prestart', [hook], STATE);
    assert.deepEqual(nulList(out), ['my-argv0', '-c', 'cat /proc/$$/cmdline > "$OUT"', 'x', 'y z']);
  }));

  test(`${name}: the environment is exactly the hook's env`, withTemp(async (dir) => {
    const out = join(dir, 'environ');
    process.env.TSRUN_HOOK_TEST_LEAK = 'leaked';
    try {
      await run('prestart', [sh('cat /proc/$$/environ > "$OUT"', out, { env: ['A=1', 'EMPTY=', 'B=x=y'] })], STATE);
    } finally {
      delete process.env.TSRUN_HOOK_TEST_LEAK;
    }
    assert.deepEqual(nulList(out).sort(), [`OUT=${out}`, 'A=1', 'EMPTY=', 'B=x=y'].sort());
  }));

  test(`${name}: a non-zero exit names the phase, index, status and stderr`, withTemp(async (dir) => {
    const ok = sh('true', join(dir, 'unused'));
    const bad = sh('echo to-stdout; echo something broke >&2; exit 3', join(dir, 'unused'));
    await assert.rejects(run('prestart', [ok, bad], STATE), (e: Error) => {
      assert.ok(e instanceof HookError, `HookError expected, got ${e.constructor.name}`);
      assert.match(e.message, /prestart hook #1 \(\/bin\/sh\)/);
      assert.match(e.message, /exit status 3/);
      assert.match(e.message, /stderr: something broke/);
      assert.match(e.message, /stdout: to-stdout/);
      return true;
    });
  }));

  test(`${name}: a hook killed by a signal says so`, withTemp(async (dir) => {
    await assert.rejects(run('prestart', [sh('kill -TERM $$', join(dir, 'unused'))], STATE), /prestart hook #0 .*signal: SIGTERM/);
  }));

  test(`${name}: a timeout kills the hook`, async () => {
    const started = Date.now();
    await assert.rejects(
      run('prestart', [{ path: '/bin/sleep', args: ['sleep', '5'], timeout: 1 }], STATE),
      /prestart hook #0 \(\/bin\/sleep\): timeout after 1s/,
    );
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 3000, `took ${took} ms`);
  });

  test(`${name}: a timeout is not extended by a grandchild holding stdout`, async () => {
    // sh forks sleep; killing sh leaves sleep (and its copy of the stdout pipe) for 4 s more.
    const started = Date.now();
    await assert.rejects(run('prestart', [{ path: '/bin/sh', args: ['sh', '-c', 'sleep 4; :'], timeout: 1 }], STATE), /timeout after 1s/);
    const took = Date.now() - started;
    assert.ok(took < 3000, `took ${took} ms: waited for the grandchild`);
  });

  test(`${name}: a missing binary is an error naming the hook`, async () => {
    await assert.rejects(run('prestart', [{ path: '/no/such/hook' }], STATE), (e: Error) => {
      assert.ok(e instanceof HookError);
      assert.match(e.message, /prestart hook #0 \(\/no\/such\/hook\).*ENOENT/);
      return true;
    });
  });

  test(`${name}: without args, argv is just the path`, withTemp(async (dir) => {
    // A script file, run without `args`: $0 must be the path and there are no arguments.
    const script = join(dir, 'hook.sh');
    const out = join(dir, 'argv');
    writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$0" "$#" > ${out}\n`);
    chmodSync(script, 0o755);
    await run('prestart', [{ path: script }], STATE);
    assert.deepEqual(readFileSync(out, 'utf8').split('\n'), [script, '0', '']);
  }));
}

test('runHooks stops at the first failure', withTemp(async (dir) => {
  const marker = join(dir, 'ran');
  await assert.rejects(runHooks('prestart', [sh('exit 1', marker), sh('touch "$OUT"', marker)], STATE), /prestart hook #0/);
  assert.equal(existsSync(marker), false, 'the hook after the failing one ran');
}));

test('runHooksSync stops at the first failure', withTemp(async (dir) => {
  const marker = join(dir, 'ran');
  assert.throws(() => runHooksSync('prestart', [sh('exit 1', marker), sh('touch "$OUT"', marker)], STATE), HookError);
  assert.equal(existsSync(marker), false, 'the hook after the failing one ran');
}));

test('runHooksCollectingErrors runs every hook and returns every failure', withTemp(async (dir) => {
  const marker = join(dir, 'ran');
  const errors = await runHooksCollectingErrors(
    'poststop',
    [sh('exit 1', marker), sh('touch "$OUT"', marker), { path: '/no/such/hook' }, sh('exit 2', marker)],
    STATE,
  );
  assert.equal(existsSync(marker), true, 'the hook after the failing one did not run');
  assert.equal(errors.length, 3, errors.join('\n'));
  assert.match(errors[0]!, /poststop hook #0 .*exit status 1/);
  assert.match(errors[1]!, /poststop hook #2 \(\/no\/such\/hook\)/);
  assert.match(errors[2]!, /poststop hook #3 .*exit status 2/);
}));

test('runHooksCollectingErrors keeps going when a hook cannot even be spawned', withTemp(async (dir) => {
  const marker = join(dir, 'ran');
  // A NUL byte makes child_process.spawn throw synchronously (not an 'error' event).
  const errors = await runHooksCollectingErrors('poststart', [{ path: '/bin/tr\0ue' }, sh('touch "$OUT"', marker)], STATE);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /poststart hook #0/);
  assert.equal(existsSync(marker), true);
}));

test('no hooks, or an empty list, is fine', async () => {
  await runHooks('prestart', undefined, STATE);
  await runHooks('prestart', [], STATE);
  runHooksSync('createContainer', undefined, STATE);
  assert.deepEqual(await runHooksCollectingErrors('poststop', [], STATE), []);
});

test('a hook without env gets the runtime environment, as runc does', withTemp(async (dir) => {
  const out = join(dir, 'environ');
  process.env.TSRUN_HOOK_TEST_INHERIT = 'yes';
  try {
    await runHooks('prestart', [{ path: '/bin/sh', args: ['sh', '-c', `cat /proc/$$/environ > ${out}`] }], STATE);
    runHooksSync('createContainer', [{ path: '/bin/sh', args: ['sh', '-c', `cat /proc/$$/environ > ${out}.sync`] }], STATE);
  } finally {
    delete process.env.TSRUN_HOOK_TEST_INHERIT;
  }
  assert.ok(nulList(out).includes('TSRUN_HOOK_TEST_INHERIT=yes'));
  assert.ok(nulList(`${out}.sync`).includes('TSRUN_HOOK_TEST_INHERIT=yes'));
}));
