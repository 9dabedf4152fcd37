// LISTEN_FDS socket activation, as runc does it (go-systemd's activation.Files): when tsrun was
// started by a socket-activating manager (LISTEN_PID is tsrun's pid, LISTEN_FDS=N), fds
// 3..3+N-1 are passed to the container in front of the --preserve-fds ones, and its process
// gets LISTEN_FDS=N and LISTEN_PID=1 (it is pid 1 of its pid namespace).
import type { Spec } from '../spec';

/** The number of activation fds handed to this process (0 when LISTEN_PID is not ours). */
export function listenFds(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number {
  if (env.LISTEN_PID !== String(pid)) return 0;
  const n = Number(env.LISTEN_FDS ?? '');
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/**
 * create/run: the fds the container keeps from 3 up (activation fds + --preserve-fds), with
 * LISTEN_FDS/LISTEN_PID added to the process's environment (spec changed in place).
 */
export function applySocketActivation<T extends { preserveFds: number }>(spec: Spec, options: T): T {
  const n = listenFds();
  if (n === 0 || !spec.process) return options;
  const env = (spec.process.env ?? []).filter((e) => !e.startsWith('LISTEN_FDS=') && !e.startsWith('LISTEN_PID='));
  spec.process.env = [...env, `LISTEN_FDS=${n}`, 'LISTEN_PID=1'];
  return { ...options, preserveFds: options.preserveFds + n };
}
