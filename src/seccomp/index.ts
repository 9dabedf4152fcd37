// linux.seccomp for the container's init and for `exec`:
//
//   prepareSeccomp   at create (exec: before "ready"), before pivot_root / joining the mount
//                    namespace: plan (validate), compile with libseccomp (loaded from the host,
//                    which is why this cannot wait until after pivot_root). Every error here is
//                    a create-time error. For SCMP_ACT_NOTIFY the runtime has connected to the
//                    agent's listenerPath (connectSeccompAgent) and passed the socket along.
//   loadSeccomp      right before execve (see src/init/process.ts for where exactly): the
//                    seccomp(2) call, then for NOTIFY the listener fd and the container process
//                    state go to the agent over the socket (SCM_RIGHTS), as runc sends them.
//
// After the filter is in force, the init itself makes only: sendmsg+close (NOTIFY only), the
// capability steps when noNewPrivileges is false (capget, capset, prctl), and execve. Node's
// other threads are not filtered (no TSYNC): they die at execve.
import type { LinuxSeccomp, State, ContainerProcessState } from '../spec';
import type { Syscalls } from '../linux/syscalls';
import { SyscallError } from '../linux/errors';
import { compileFilter } from './compile';
import { libseccomp, seccompKernel, LibseccompMissingError, type Libseccomp, type PreparedProgram, type SeccompKernel } from './ffi';
import {
  ACTIONS,
  ARCHES,
  FLAGS,
  OPERATORS,
  SCMP_ACT_ERRNO_BASE,
  SCMP_ACT_KILL_PROCESS,
  SCMP_ACT_KILL_THREAD,
  SCMP_ACT_LOG,
  SCMP_ACT_NOTIFY,
  SCMP_ACT_TRACE_BASE,
  SCMP_ACT_TRAP,
  SCMP_ACT_ALLOW,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
  flagNames,
  planSeccomp,
} from './profile';

export { LibseccompMissingError } from './ffi';
export { SeccompConfigError, planSeccomp } from './profile';

/** The name of the listener fd in ContainerProcessState.fds (runtime-spec SeccompFdName). */
export const SECCOMP_FD_NAME = 'seccompFd';

export interface PreparedSeccomp {
  /** seccomp(2) flags (SECCOMP_FILTER_FLAG_*). */
  flags: number;
  program: PreparedProgram;
  kernel: SeccompKernel;
  /** Syscall names libseccomp did not know (skipped). */
  skipped: string[];
  /** The agent's socket (connected by the runtime) and what to send it with the listener fd. */
  listener?: { socket: number; path: string; message: Buffer };
}

export interface PrepareDeps {
  /** Loads libseccomp (default: libseccomp.so.2 through koffi). */
  loadLib?: () => Libseccomp;
  kernel?: SeccompKernel;
}

/** What the agent learns about the process (runtime-spec "The Container Process State"). */
export function containerProcessState(pid: number, state: State, metadata: string | undefined): ContainerProcessState {
  const out: ContainerProcessState = { ociVersion: state.ociVersion, fds: [SECCOMP_FD_NAME], pid, state };
  if (metadata) out.metadata = metadata;
  return out;
}

/** Whether a profile uses SCMP_ACT_NOTIFY (needs no libseccomp). */
export function usesNotify(seccomp: LinuxSeccomp | undefined): boolean {
  return (seccomp?.syscalls ?? []).some((s) => s.action === 'SCMP_ACT_NOTIFY');
}

/**
 * Runtime side (create, exec): connects to linux.seccomp.listenerPath when the profile uses
 * SCMP_ACT_NOTIFY, as runc's parent does: the path is resolved in the runtime's mount namespace
 * and with the runtime's credentials (an init in a user namespace could not connect to a
 * root-owned socket). The fd is handed to the init, which sends the listener fd over it.
 * Undefined when there is nothing to connect (a NOTIFY profile without listenerPath is refused
 * by the init's plan, with the field named).
 */
export function connectSeccompAgent(sys: Syscalls, seccomp: LinuxSeccomp | undefined): number | undefined {
  if (!seccomp || !usesNotify(seccomp) || !seccomp.listenerPath) return undefined;
  try {
    return sys.unixConnect(seccomp.listenerPath);
  } catch (err) {
    throw new Error(`failed to connect with seccomp agent specified in the seccomp profile (linux.seccomp.listenerPath ${seccomp.listenerPath}): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Validates and compiles. For SCMP_ACT_NOTIFY, `agent` gives the socket connected to the agent
 * (connectSeccompAgent, in the runtime) and the process state for the message. Undefined
 * without a profile.
 */
export function prepareSeccomp(
  seccomp: LinuxSeccomp | undefined,
  agent: { socket: number | undefined; processState: () => { pid: number; state: State } } | undefined,
  deps: PrepareDeps = {},
): PreparedSeccomp | undefined {
  if (!seccomp) return undefined;
  const kernel = deps.kernel ?? seccompKernel();
  const plan = planSeccomp(seccomp, {
    flagSupported: (flag) => kernel.flagsSupported(flag === SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ? flag | SECCOMP_FILTER_FLAG_NEW_LISTENER : flag),
  });
  if (!plan) return undefined;
  const lib = (deps.loadLib ?? libseccomp)();
  const compiled = compileFilter(plan, lib);
  const prepared: PreparedSeccomp = { flags: plan.flags, program: kernel.prepareProgram(compiled.program), kernel, skipped: compiled.skipped };
  if (plan.notify) {
    const path = plan.listenerPath as string;
    if (agent?.socket === undefined) throw new Error(`seccomp: no connection to the seccomp agent at ${path} was passed to the init`);
    const { pid, state } = agent.processState();
    const message = Buffer.from(JSON.stringify(containerProcessState(pid, state, plan.listenerMetadata)));
    prepared.listener = { socket: agent.socket, path, message };
  }
  return prepared;
}

/**
 * Puts the filter in force for the calling thread; with a listener, hands the listener fd and
 * the process state to the agent and closes both fds. Without no_new_privs the caller must hold
 * CAP_SYS_ADMIN in its effective set.
 */
export function loadSeccomp(sys: Syscalls, prepared: PreparedSeccomp): void {
  let fd: number;
  try {
    fd = prepared.kernel.setModeFilter(prepared.flags, prepared.program);
  } catch (err) {
    const code = err instanceof SyscallError ? err.code : '';
    const hint =
      code === 'EACCES'
        ? ' (without process.noNewPrivileges, loading a seccomp filter needs CAP_SYS_ADMIN)'
        : code === 'EINVAL' && prepared.flags !== 0
          ? ` (flags ${flagNames(prepared.flags).join('|')})`
          : '';
    throw new Error(`error loading seccomp filter into kernel: ${(err as Error).message}${hint}`, { cause: err });
  }
  const listener = prepared.listener;
  if (!listener) return;
  try {
    sys.sendFds(listener.socket, listener.message, [fd]);
  } catch (err) {
    throw new Error(`cannot send seccomp fd to ${listener.path}: ${(err as Error).message}`, { cause: err });
  } finally {
    closeQuietly(sys, fd);
    closeQuietly(sys, listener.socket);
  }
}

function closeQuietly(sys: Syscalls, fd: number): void {
  try {
    sys.close(fd);
  } catch {
    // nothing more to do
  }
}

/** Closes what prepareSeccomp opened (the agent's socket) when the process will not exec. */
export function releaseSeccomp(sys: Syscalls, prepared: PreparedSeccomp | undefined): void {
  if (prepared?.listener) closeQuietly(sys, prepared.listener.socket);
}

const KNOWN_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] as const;

const ACTION_PROBE: Readonly<Record<string, number>> = {
  'kill-process': SCMP_ACT_KILL_PROCESS,
  'kill-thread': SCMP_ACT_KILL_THREAD,
  trap: SCMP_ACT_TRAP,
  // SECCOMP_GET_ACTION_AVAIL wants the bare SECCOMP_RET_* value (no errno/trace data).
  errno: SCMP_ACT_ERRNO_BASE,
  trace: SCMP_ACT_TRACE_BASE,
  allow: SCMP_ACT_ALLOW,
  log: SCMP_ACT_LOG,
  notify: SCMP_ACT_NOTIFY,
};

export interface SeccompFeatures {
  enabled: boolean;
  actions?: string[];
  operators?: string[];
  archs?: string[];
  knownFlags?: string[];
  supportedFlags?: string[];
}

/**
 * The `features` document's linux.seccomp: what this host really offers. Disabled when
 * libseccomp cannot be loaded. Actions: those the kernel has (SECCOMP_GET_ACTION_AVAIL; NOTIFY
 * also needs libseccomp API level 6); archs: those this libseccomp knows; supportedFlags: those
 * the kernel accepts (TSYNC is accepted and ignored, as runc).
 */
export function seccompFeatures(deps: PrepareDeps = {}): SeccompFeatures {
  let lib: Libseccomp;
  try {
    lib = (deps.loadLib ?? libseccomp)();
  } catch (err) {
    if (err instanceof LibseccompMissingError) return { enabled: false };
    throw err;
  }
  const kernel = deps.kernel ?? seccompKernel();
  const actions = Object.entries(ACTIONS)
    .filter(([, kind]) => kernel.actionAvailable(ACTION_PROBE[kind] as number) && (kind !== 'notify' || lib.apiLevel() >= 6))
    .map(([name]) => name)
    .sort();
  const supportedFlags = KNOWN_FLAGS.filter((name) => {
    const bit = FLAGS[name];
    if (bit === SECCOMP_FILTER_FLAG_TSYNC) return true;
    return kernel.flagsSupported(bit === SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ? bit | SECCOMP_FILTER_FLAG_NEW_LISTENER : bit);
  });
  return {
    // A kernel without seccomp filters (CONFIG_SECCOMP_FILTER off) offers no action at all.
    enabled: actions.length > 0,
    actions,
    operators: Object.keys(OPERATORS).sort(),
    archs: Object.entries(ARCHES)
      .filter(([, name]) => lib.archToken(name) !== 0)
      .map(([oci]) => oci)
      .sort(),
    knownFlags: [...KNOWN_FLAGS],
    supportedFlags,
  };
}
