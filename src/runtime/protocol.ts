// The contract between the runtime (create/exec, parent side) and the container's init
// (src/init, running inside the new namespaces). Sent once, as the first JSON line on the sync
// channel, right after the native stage's child was released.
import type { LinuxSeccomp, Process, Spec, State } from '../spec';

export interface InitConfig {
  kind: 'init';
  id: string;
  /** Absolute bundle directory and root filesystem path (host view). */
  bundle: string;
  rootfs: string;
  spec: Spec;
  /** Host pid of the init, for the state given to hooks. */
  hostPid: number;
  /** fd (in the init) of the exec fifo opened with O_PATH; the user process waits on it. */
  fifoFd: number;
  /** Number of fds from 3 up that the user process keeps (--preserve-fds). */
  preserveFds: number;
  noPivot: boolean;
  noNewKeyring: boolean;
  /** fd (in the init) of the socket connected to linux.seccomp.listenerPath (SCMP_ACT_NOTIFY). */
  seccompAgentFd?: number | undefined;
  /** process.terminal: fd (in the init) of the console socket the pty master is sent over. */
  consoleSocketFd?: number | undefined;
  /**
   * The container has a cgroup: the init asks the runtime to move it there ({type:'cgroup'},
   * answered by 'continue') as late as possible, right before unsharing its cgroup namespace.
   */
  joinCgroup?: boolean;
  /** Host cgroup mount point → the container's cgroup directory there (for `cgroup` mounts). */
  cgroupDirs?: Record<string, string>;
  /**
   * Bind mounts the runtime made (idmapped ones, and sources out of the init's reach): spec.mounts
   * index → fd (in the init) of the detached mount tree to attach.
   */
  runtimeMountFds?: Record<number, number> | undefined;
}

/** Runtime → init replies during create. */
export type ParentMessage = { type: 'continue' } | { type: 'abort'; message: string };

/** What an exec stage (a process joining a running container) is told. */
export interface ExecConfig {
  kind: 'exec';
  process: Process;
  /** Mount namespace of the container (host path, e.g. /proc/PID/ns/mnt). */
  mountNamespace: string;
  preserveFds: number;
  /** Ask the runtime to move the process into the container's cgroup before it reports 'ready'. */
  joinCgroup?: boolean;
  /** The container's linux.seccomp (recorded at create): exec'd processes get it too. */
  seccomp?: LinuxSeccomp;
  /** For a seccomp agent (SCMP_ACT_NOTIFY): the host pid of the exec'd process and the container state. */
  processState?: { pid: number; state: State };
  /** fd (in the exec stage) of the socket connected to linux.seccomp.listenerPath. */
  seccompAgentFd?: number | undefined;
  /** process.terminal: fd (in the exec stage) of the console socket the pty master is sent over. */
  consoleSocketFd?: number | undefined;
}

/** The first message on the sync channel. */
export type StageConfig = InitConfig | ExecConfig;
