// Starting a container's init: the native stage clones it into its new namespaces, the runtime
// writes its uid/gid maps from outside, releases it, and the child execs the Node init stage
// (dist/init.js), which receives its InitConfig as the first message on the sync channel.
import { closeSync, fstatSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LinuxIDMapping } from '../spec';
import { ChannelClosedError, ParentChannel } from './channel';
import { linux, type Syscalls } from '../linux/syscalls';
import { execPathOf, sealedExecutable } from './seal';
import INIT_NODE_FLAGS from '../../scripts/init-node-flags.json';

/** Where the runtime's own files are: next to the bundled CLI. */
export const RUNTIME_DIR = __dirname;
export const STAGE_BINARY = join(RUNTIME_DIR, 'tsrun-stage');
export const INIT_SCRIPT = join(RUNTIME_DIR, 'init.js');
/**
 * Node flags for the init (INIT_NODE_FLAGS, imported above): no eval, and a small young
 * generation since the init's memory may be charged to the container. Shared with the build,
 * which makes the init's code cache with the same flags (V8 rejects a cache made under others).
 */

export interface LaunchOptions {
  /** Namespace arguments for the stage (see namespaces.ts). */
  stageArgs: string[];
  /** fds 3..3+preserveFds-1 of this process are passed through unchanged. */
  preserveFds: number;
  /** fds of this process handed to the child after the preserved ones (e.g. the exec fifo). */
  extraFds: number[];
  uidMappings?: LinuxIDMapping[] | undefined;
  gidMappings?: LinuxIDMapping[] | undefined;
  /** Whether the init may call setgroups(2) in its new user namespace (false writes "deny"). */
  allowSetgroups: boolean;
}

export interface LaunchedInit {
  pid: number;
  channel: ParentChannel;
  /** The numbers `extraFds` have in the child, in the same order. */
  extraFdNumbers: number[];
}

export class LaunchError extends Error {}

/** A started clone stage: its pid (ours to reap) and our end of its sync socket. */
export interface StartedStage {
  stagePid: number;
  channel: ParentChannel;
}

/**
 * Starts the native stage with `args` (after argv[0]), the sync socket as fd `syncFd` and each
 * [ours, theirs] of `fds`; fds 0-2 and any non-close-on-exec fd are inherited. The environment
 * is empty: the init needs nothing from ours, the container's comes from its config.
 */
export function startStage(sys: Syscalls, executable: string, args: string[], syncFd: number, fds: Array<[number, number]>): StartedStage {
  const [ours, theirs] = sys.socketpair();
  try {
    const stagePid = sys.spawn(executable, [STAGE_BINARY, ...args], [], [...fds, [theirs, syncFd]]);
    return { stagePid, channel: new ParentChannel(sys, ours) };
  } catch (err) {
    closeSync(ours);
    throw new LaunchError(`cannot start ${STAGE_BINARY}: ${(err as Error).message}`);
  } finally {
    closeSync(theirs);
  }
}

/**
 * The pid of the process the stage cloned, once the stage has exited: it reports "pid N" (or
 * "error ...") and exits. Throws, with the stage's reason, when it did not clone.
 */
export function clonedPid(sys: Syscalls, stage: StartedStage): number {
  let first: string;
  try {
    first = stage.channel.readLine();
  } catch (err) {
    if (!(err instanceof ChannelClosedError)) throw err;
    first = '';
  }
  const status = sys.waitpid(stage.stagePid);
  if (first.startsWith('error ')) throw new LaunchError(first.slice(6));
  if (!first.startsWith('pid ')) throw new LaunchError(`the clone stage exited with ${describeStatus(status)} without starting the init`);
  const pid = Number(first.slice(4));
  if (status?.exitCode !== 0) {
    killQuietly(pid);
    throw new LaunchError(`the clone stage exited with ${describeStatus(status)}`);
  }
  return pid;
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

function describeStatus(status: ReturnType<Syscalls['waitpid']>): string {
  if (status?.exitCode !== undefined && status.exitCode !== null) return `status ${status.exitCode}`;
  return `signal ${status?.signal ?? '?'}`;
}

export function launchInit(options: LaunchOptions): LaunchedInit {
  const sys = linux();
  // fds in the child: 0-2 and the preserved ones as they are (Node made ours close-on-exec),
  // then ours. A closed one stays closed (Node's init would put /dev/null there).
  const fds: Array<[number, number]> = [];
  for (let fd = 0; fd < 3 + options.preserveFds; fd++) if (isOpen(fd)) fds.push([fd, fd]);
  // The container's stdio must be blocking, as programs expect; Node makes the pipes it
  // writes to non-blocking, and the flag belongs to the file, shared with the container.
  for (const fd of [0, 1, 2]) {
    try {
      sys.setBlocking(fd);
    } catch {
      // closed, or not ours to change: left as it is
    }
  }
  let next = 3 + options.preserveFds;
  const extraFdNumbers = options.extraFds.map((fd) => {
    fds.push([fd, next]);
    return next++;
  });
  // Neither binary is run from its host path: both run inside the container's namespaces,
  // where /proc/PID/exe must never lead back to a writable host file (seal.ts).
  const stageExe = sealedExecutable(sys, STAGE_BINARY, [dirname(process.execPath)]);
  const nodeExe = sealedExecutable(sys, process.execPath, [RUNTIME_DIR]);
  const execFd: string[] = [];
  if (nodeExe.fd !== undefined) {
    fds.push([nodeExe.fd, next]);
    execFd.push('--exec-fd', String(next++));
  }
  const syncFd = next;
  // A stage that gets no mount namespace of its own (exec; create joining one by path) keeps
  // the host's root until Node joins the container's: the host it shows is read-only.
  const cloneIndex = options.stageArgs.indexOf('--clone');
  const ownMountNs = cloneIndex >= 0 && (options.stageArgs[cloneIndex + 1] ?? '').split(',').includes('mnt');
  const args = [
    '--sync', String(syncFd), ...execFd, ...(ownMountNs ? [] : ['--readonly-host']), ...options.stageArgs, '--',
    process.execPath, ...INIT_NODE_FLAGS, INIT_SCRIPT, String(syncFd),
  ];
  const stage = startStage(sys, execPathOf(stageExe), args, syncFd, fds);
  let pid: number;
  try {
    pid = clonedPid(sys, stage);
  } catch (err) {
    stage.channel.close();
    throw err;
  }
  try {
    if (options.uidMappings || options.gidMappings) writeIdMaps(pid, options);
  } catch (err) {
    killQuietly(pid);
    stage.channel.close();
    throw err;
  }
  stage.channel.sendRaw('G');
  return { pid, channel: stage.channel, extraFdNumbers };
}

function writeIdMaps(pid: number, options: LaunchOptions): void {
  const format = (maps: LinuxIDMapping[]) => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
  try {
    if (options.uidMappings) writeFileSync(`/proc/${pid}/uid_map`, format(options.uidMappings));
    if (!options.allowSetgroups) writeFileSync(`/proc/${pid}/setgroups`, 'deny');
    if (options.gidMappings) writeFileSync(`/proc/${pid}/gid_map`, format(options.gidMappings));
  } catch (err) {
    throw new LaunchError(`writing the id mappings of the init (pid ${pid}): ${(err as Error).message}`);
  }
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
