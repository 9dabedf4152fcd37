// OCI hooks: each runs with the container state as JSON on stdin, its own args (args[0] is
// argv[0]) and env, and an optional timeout in seconds after which it is killed.
import { spawn, spawnSync } from 'node:child_process';
import type { Hook } from '../spec';

export type HookPhase = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

export class HookError extends Error {}

interface HookOutcome {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  spawnError?: Error | undefined;
}

function describe(phase: HookPhase, index: number, hook: Hook, o: HookOutcome): string | null {
  const what = `error running ${phase} hook #${index} (${hook.path})`;
  if (o.spawnError) return `${what}: ${o.spawnError.message}`;
  if (o.timedOut) return `${what}: timeout after ${hook.timeout}s`;
  if (o.code === 0) return null;
  const status = o.signal ? `signal: ${o.signal}` : `exit status ${o.code}`;
  return `${what}: ${status}, stdout: ${o.stdout.trim()}, stderr: ${o.stderr.trim()}`;
}

function spawnArgs(hook: Hook) {
  const args = hook.args ?? [hook.path];
  return {
    argv0: args[0] ?? hook.path,
    rest: args.slice(1),
    env: Object.fromEntries((hook.env ?? []).map((e) => {
      const eq = e.indexOf('=');
      return eq < 0 ? [e, ''] : [e.slice(0, eq), e.slice(eq + 1)];
    })),
    timeoutMs: hook.timeout ? hook.timeout * 1000 : undefined,
  };
}

/** Runs hooks in order from the runtime process; stops at the first failure (thrown). */
export async function runHooks(phase: HookPhase, hooks: readonly Hook[] | undefined, state: object): Promise<void> {
  const input = JSON.stringify(state);
  for (const [index, hook] of (hooks ?? []).entries()) {
    const outcome = await runOne(hook, input);
    const err = describe(phase, index, hook, outcome);
    if (err) throw new HookError(err);
  }
}

/** Runs every hook even when some fail (poststart/poststop): returns the failure messages. */
export async function runHooksCollectingErrors(phase: HookPhase, hooks: readonly Hook[] | undefined, state: object): Promise<string[]> {
  const input = JSON.stringify(state);
  const errors: string[] = [];
  for (const [index, hook] of (hooks ?? []).entries()) {
    const err = describe(phase, index, hook, await runOne(hook, input));
    if (err) errors.push(err);
  }
  return errors;
}

function runOne(hook: Hook, input: string): Promise<HookOutcome> {
  const a = spawnArgs(hook);
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: Error | undefined;
    const child = spawn(hook.path, a.rest, { argv0: a.argv0, env: a.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = a.timeoutMs ? setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, a.timeoutMs) : undefined;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => { /* a hook need not read its stdin */ });
    child.stdin.end(input);
    child.on('error', (e) => { spawnError = e; });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, timedOut, spawnError, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** The same, synchronously, for the container's init (which has no event loop to spare). */
export function runHooksSync(phase: HookPhase, hooks: readonly Hook[] | undefined, state: object): void {
  const input = JSON.stringify(state);
  for (const [index, hook] of (hooks ?? []).entries()) {
    const a = spawnArgs(hook);
    const r = spawnSync(hook.path, a.rest, { argv0: a.argv0, env: a.env, input, timeout: a.timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' });
    const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    const err = describe(phase, index, hook, {
      code: r.status, signal: r.signal, timedOut, stdout: r.stdout ?? '', stderr: r.stderr ?? '',
      spawnError: timedOut ? undefined : r.error,
    });
    if (err) throw new HookError(err);
  }
}
