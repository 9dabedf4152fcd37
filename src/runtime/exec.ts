// `exec`: a new process inside a running container. The stage joins every namespace in which
// the container's init differs from us (user first) and clones the child that becomes the
// process; the child runs the Node exec stage, which joins the mount namespace last (Node has
// to load from the host's filesystem first), resolves the executable and execs it.
import { closeSync, readFileSync, readlinkSync } from 'node:fs';
import type { CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { linux } from '../linux/syscalls';
import { validateProcess, type Process } from '../spec';
import { containerStatus } from '../state/status';
import type { ContainerRecord } from '../state/store';
import { writePidFile } from './create';
import { killQuietly, launchInit } from './launch';
import type { ExecConfig } from './protocol';
import { containerCgroup, joinExec, startMigrationWarmup, stopMigrationWarmup } from './cgroup';
import type { InitMessage } from './channel';
import { SPEC_VERSION } from '../version';
import { connectSeccompAgent } from '../seccomp';
import { closeConsole, openConsole, receiveMaster, TerminalProxy, type ConsoleEndpoints } from './console';

export interface ExecOptions {
  id: string;
  /** A process.json file (OCI "process"), or... */
  processFile?: string | undefined;
  /** ...the command line, applied over the container's own process settings. */
  args: string[];
  env: string[];
  cwd?: string | undefined;
  user?: string | undefined;
  additionalGids: number[];
  caps: string[];
  noNewPrivs: boolean;
  detach: boolean;
  pidFile?: string | undefined;
  preserveFds: number;
  /** -t/--tty: a terminal for a command-line process (a --process file says so itself). */
  tty?: boolean;
  /** --console-socket: where the pty master is sent (with --detach). */
  consoleSocket?: string | undefined;
}

/** Joined by the stage, in this order after user; mount is joined by the exec stage itself. */
const STAGE_JOINS: Array<[string, string]> = [['user', 'user'], ['ipc', 'ipc'], ['uts', 'uts'], ['net', 'net'], ['pid', 'pid'], ['cgroup', 'cgroup'], ['time', 'time']];

export async function execInContainer(ctx: CommandContext, options: ExecOptions): Promise<number> {
  const record = ctx.store.read(options.id);
  const status = containerStatus(record, ctx.store.dir(options.id));
  if (status === 'stopped') throw new CommandError('cannot exec in a stopped container');
  if (status === 'paused') throw new CommandError('cannot exec in a paused container');
  const process = execProcess(record, options);
  const cgroup = containerCgroup(ctx, record);

  const stageArgs: string[] = [];
  let inUserNamespace = false;
  for (const [name] of STAGE_JOINS) {
    if (differs(record.pid, name)) {
      stageArgs.push('--join', `${name}:/proc/${record.pid}/ns/${name}`);
      if (name === 'user') inUserNamespace = true;
    }
  }
  if (inUserNamespace) stageArgs.push('--root-ids');

  const sys = linux();
  // process.terminal: the console socket (or, in the foreground, our socketpair) goes to the process.
  const consoleFds: ConsoleEndpoints | undefined = openConsole(sys, process.terminal === true, options.consoleSocket, options.detach);
  if (!options.detach) sys.setChildSubreaper(true);
  // SCMP_ACT_NOTIFY: connected here (runtime's credentials and mounts); the process sends the listener fd over it.
  let agentFd: number | undefined;
  let child: Awaited<ReturnType<typeof launchInit>>;
  const extraFds: number[] = [];
  try {
    agentFd = connectSeccompAgent(sys, record.seccomp);
    if (agentFd !== undefined) extraFds.push(agentFd);
    if (consoleFds) extraFds.push(consoleFds.child);
    child = launchInit({ stageArgs, preserveFds: options.preserveFds, extraFds, allowSetgroups: true });
  } catch (err) {
    closeConsole(consoleFds, 'all');
    throw err;
  } finally {
    if (agentFd !== undefined) closeSync(agentFd);
    closeConsole(consoleFds, 'child');
  }
  let master: number | undefined;
  try {
    const config: ExecConfig = { kind: 'exec', process, mountNamespace: `/proc/${record.pid}/ns/mnt`, preserveFds: options.preserveFds };
    if (record.seccomp) {
      config.seccomp = record.seccomp;
      const state = { ociVersion: SPEC_VERSION, id: record.id, status: 'running', pid: record.pid, bundle: record.bundle, annotations: record.annotations ?? {} };
      config.processState = { pid: child.pid, state };
      config.seccompAgentFd = child.extraFdNumbers[0];
    }
    if (consoleFds) config.consoleSocketFd = child.extraFdNumbers[extraFds.length - 1];
    if (cgroup) config.joinCgroup = true;
    child.channel.send(config);
    // While the stage's Node starts: the grace period its join would wait for (migration-warmup.ts).
    const warmup = cgroup ? startMigrationWarmup(child.channel) : undefined;
    // Nothing to do until the stage's Node has started: let the event loop run what is queued.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let reply: InitMessage;
    try {
      reply = child.channel.receive();
      if (reply.type === 'cgroup') {
        // The process joins the container's cgroup before it runs anything of the container's.
        await child.channel.answer(() => joinExec(cgroup, child.pid, record.pid));
        stopMigrationWarmup(child.channel, warmup);
        reply = child.channel.receive();
      }
    } finally {
      stopMigrationWarmup(child.channel, warmup);
    }
    if (reply.type === 'error') throw new CommandError(reply.message);
    if (reply.type !== 'ready') throw new CommandError(`unexpected message from the exec stage: ${reply.type}`);
    child.channel.close();
    // Sent before "ready" (foreground only; with --console-socket it went to the caller).
    if (consoleFds?.receive !== undefined) master = receiveMaster(sys, consoleFds);
    if (options.pidFile) writePidFile(options.pidFile, child.pid);
  } catch (err) {
    killQuietly(child.pid);
    child.channel.close();
    closeConsole(consoleFds, 'all');
    throw err;
  }
  if (options.detach) return 0;
  const proxy = master === undefined ? undefined : new TerminalProxy(master);
  try {
    return await waitForeground(child.pid, proxy !== undefined);
  } finally {
    await proxy?.close();
  }
}

/** Waits for the exec'd process, forwarding our signals to it; returns its exit status. */
async function waitForeground(pid: number, terminal: boolean): Promise<number> {
  // With a terminal, SIGWINCH resizes it instead (TerminalProxy).
  const forwarded: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', ...(terminal ? [] : ['SIGWINCH' as const])];
  const forward = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  };
  for (const s of forwarded) process.on(s, forward);
  try {
    const status = await linux().waitpidAsync(pid);
    return status.exitCode ?? (status.signal !== null ? 128 + status.signal : 255);
  } finally {
    for (const s of forwarded) process.off(s, forward);
  }
}

function differs(pid: number, ns: string): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`) !== readlinkSync(`/proc/self/ns/${ns}`);
  } catch {
    return false; // namespace type not supported by this kernel
  }
}

/** The process to run: a --process file as given, or the container's process with the command line over it. */
export function execProcess(record: ContainerRecord, options: ExecOptions): Process {
  if (options.processFile) {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(options.processFile, 'utf8'));
    } catch (err) {
      throw new CommandError(`${options.processFile}: ${(err as Error).message}`);
    }
    return validateProcess(value);
  }
  if (options.args.length === 0) throw new CommandError('exec: no command given (use --process FILE or arguments)');
  const base: Process = JSON.parse(JSON.stringify(record.process ?? { cwd: '/', args: [] })) as Process;
  const p: Process = { ...base, args: options.args, terminal: options.tty === true };
  p.env = [...(base.env ?? []), ...options.env];
  if (options.cwd) p.cwd = options.cwd;
  if (options.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(options.user);
    if (!m) throw new CommandError(`invalid --user "${options.user}": expected UID[:GID]`);
    p.user = { ...(base.user ?? { uid: 0, gid: 0 }), uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : 0 };
  }
  if (options.additionalGids.length > 0) p.user = { ...(p.user ?? { uid: 0, gid: 0 }), additionalGids: options.additionalGids };
  if (options.caps.length > 0) {
    const caps = { ...(base.capabilities ?? {}) };
    for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...new Set([...(caps[set] ?? []), ...options.caps])];
    p.capabilities = caps;
  }
  if (options.noNewPrivs) p.noNewPrivileges = true;
  return p;
}
