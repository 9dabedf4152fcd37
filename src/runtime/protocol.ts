// The contract between the runtime (create/exec, parent side) and the container's init
// (src/init, running inside the new namespaces). Sent once, as the first JSON line on the sync
// channel, right after the native stage's child was released.
import type { Process, Spec } from '../spec';

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
}

/** The first message on the sync channel. */
export type StageConfig = InitConfig | ExecConfig;
