// OCI hooks: each runs with the container state as JSON on stdin, its own args (args[0] is
// argv[0]) and env, and an optional timeout in seconds after which it is killed.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Hook } from '../spec';

export const HOOK_PHASES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
export type HookPhase = (typeof HOOK_PHASES)[number];

export class HookError extends Error {}

/**
 * node:child_process, loaded only when there is a hook to run: loading it costs several ms of
 * Node start-up, paid by every container init otherwise.
 */
function childProcess(): typeof import('node:child_process') {
  return require('node:child_process') as typeof import('node:child_process');
}

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
    // No `env` at all: the runtime's own environment, as runc (Go's exec.Cmd with a nil Env).
    env: hook.env === undefined ? undefined : Object.fromEntries(hook.env.map((e) => {
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
    let child: ChildProcessWithoutNullStreams;
    try {
      child = childProcess().spawn(hook.path, a.rest, { argv0: a.argv0, env: a.env, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      // Invalid arguments (a NUL byte in the path...) throw instead of emitting 'error'.
      resolve({ code: null, signal: null, timedOut: false, spawnError: e as Error, stdout: '', stderr: '' });
      return;
    }
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      // A grandchild may still hold the output pipes: stop reading them rather than wait.
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ code, signal, timedOut, spawnError, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    };
    // The timeout bounds the whole run: the hook itself (killed) and the wait for its output.
    const timer = a.timeoutMs ? setTimeout(() => {
      if (exited) return finish(exited.code, exited.signal);
      timedOut = true;
      child.kill('SIGKILL');
    }, a.timeoutMs) : undefined;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => { /* a hook need not read its stdin */ });
    child.stdin.end(input);
    child.on('error', (e) => { spawnError = e; });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      if (timedOut) finish(code, signal);
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** The same, synchronously, for the container's init (which has no event loop to spare). */
export function runHooksSync(phase: HookPhase, hooks: readonly Hook[] | undefined, state: object): void {
  const input = JSON.stringify(state);
  for (const [index, hook] of (hooks ?? []).entries()) {
    const a = spawnArgs(hook);
    const r = childProcess().spawnSync(hook.path, a.rest, { argv0: a.argv0, env: a.env, input, timeout: a.timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' });
    const errorCode = (r.error as NodeJS.ErrnoException | undefined)?.code;
    const timedOut = errorCode === 'ETIMEDOUT';
    // EPIPE: the hook exited without reading its stdin, which it is free to do.
    const spawnError = timedOut || (errorCode === 'EPIPE' && (r.status !== null || r.signal !== null)) ? undefined : r.error;
    const err = describe(phase, index, hook, {
      code: r.status, signal: r.signal, timedOut, stdout: r.stdout ?? '', stderr: r.stderr ?? '', spawnError,
    });
    if (err) throw new HookError(err);
  }
}
