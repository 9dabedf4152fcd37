// Starting a container's init: the native stage clones it into its new namespaces, the runtime
// writes its uid/gid maps from outside, releases it, and the child execs the Node init stage
// (dist/init.js), which receives its InitConfig as the first message on the sync channel.
import { spawn, type StdioOptions } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { LinuxIDMapping } from '../spec';
import { ParentChannel } from './channel';
import { linux } from '../linux/syscalls';
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

export async function launchInit(options: LaunchOptions): Promise<LaunchedInit> {
  const stdio: StdioOptions = ['inherit', 'inherit', 'inherit'];
  for (let fd = 3; fd < 3 + options.preserveFds; fd++) stdio.push(fd);
  const extraFdNumbers = options.extraFds.map((fd) => stdio.push(fd) - 1);
  const syncIndex = stdio.push('pipe') - 1;

  // Neither binary is run from its host path: both run inside the container's namespaces,
  // where /proc/PID/exe must never lead back to a writable host file (seal.ts).
  const sys = linux();
  const stageExe = sealedExecutable(sys, STAGE_BINARY, [dirname(process.execPath)]);
  const nodeExe = sealedExecutable(sys, process.execPath, [RUNTIME_DIR]);
  const execFd = nodeExe.fd === undefined ? [] : ['--exec-fd', String(stdio.push(nodeExe.fd) - 1)];
  // A stage that gets no mount namespace of its own (exec; create joining one by path) keeps
  // the host's root until Node joins the container's: the host it shows is read-only.
  const cloneIndex = options.stageArgs.indexOf('--clone');
  const ownMountNs = cloneIndex >= 0 && (options.stageArgs[cloneIndex + 1] ?? '').split(',').includes('mnt');
  const args = [
    '--sync', String(syncIndex), ...execFd, ...(ownMountNs ? [] : ['--readonly-host']), ...options.stageArgs, '--',
    process.execPath, ...INIT_NODE_FLAGS, INIT_SCRIPT, String(syncIndex),
  ];
  // The init needs nothing from our environment; the container's comes from its config.
  const stage = spawn(execPathOf(stageExe), args, { argv0: STAGE_BINARY, stdio, env: {} });
  const exited = new Promise<number | null>((resolve, reject) => {
    stage.on('error', (err) => reject(new LaunchError(`cannot start ${STAGE_BINARY}: ${err.message}`)));
    stage.on('exit', (code) => resolve(code));
  });
  const sock = stage.stdio[syncIndex] as unknown as Readable & Writable;
  const channel = new ParentChannel(sock, sock);

  const first = await Promise.race([channel.readLine(), exited.then((code) => `error stage exited with status ${code}`)]);
  if (!first.startsWith('pid ')) throw new LaunchError(first.replace(/^error /, ''));
  const pid = Number(first.slice(4));
  const code = await exited;
  if (code !== 0) throw new LaunchError(`the clone stage exited with status ${code}`);

  try {
    if (options.uidMappings || options.gidMappings) writeIdMaps(pid, options);
  } catch (err) {
    killQuietly(pid);
    throw err;
  }
  channel.sendRaw('G');
  return { pid, channel, extraFdNumbers };
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
