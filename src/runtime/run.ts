// `run` in the foreground: tsrun becomes the child subreaper, so the container's init (orphaned
// by the clone stage) is re-parented to it; it creates and starts the container, forwards the
// signals it receives to the init, reaps it and exits with its status (128+N for signal N).
import type { CommandContext } from '../cli/context';
import { linux } from '../linux/syscalls';
import { WNOHANG } from '../linux/constants';
import { createContainerWithConsole, type CreateOptions } from './create';
import { TerminalProxy } from './console';
import { deleteContainer, startContainer } from './lifecycle';

const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'];

export interface RunOptions extends CreateOptions {
  detach: boolean;
  keep: boolean;
}

export async function runContainer(ctx: CommandContext, options: RunOptions): Promise<number> {
  if (options.detach) {
    await createContainerWithConsole(ctx, options, true);
    await startContainer(ctx, options.id);
    return 0;
  }
  const sys = linux();
  sys.setChildSubreaper(true);
  const { record, consoleMaster } = await createContainerWithConsole(ctx, options, false);
  // A terminal and no console socket: we hold the master and proxy it (runc's recvtty).
  let proxy: TerminalProxy | undefined;
  try {
    if (consoleMaster !== undefined) proxy = new TerminalProxy(consoleMaster);
  } catch (err) {
    await deleteContainer(ctx, options.id, true);
    throw err;
  }
  return superviseForeground(ctx, { id: options.id, pid: record.pid, keep: options.keep, proxy }, () => startContainer(ctx, options.id));
}

/**
 * The foreground part of `run` and `restore`: forwards our signals to the init (a terminal
 * proxy handles SIGWINCH itself), runs `begin` (start), waits for the init (our child or
 * re-parented to us) and returns its status as an exit code; the container is then deleted
 * unless `keep`.
 */
export async function superviseForeground(
  ctx: CommandContext,
  c: { id: string; pid: number; keep: boolean; proxy?: TerminalProxy | undefined },
  begin: () => Promise<void> = async () => {},
): Promise<number> {
  const sys = linux();
  const forward = (signal: NodeJS.Signals) => {
    try {
      process.kill(c.pid, signal);
    } catch {
      // the init is gone; its exit is being collected
    }
  };
  // With a terminal, SIGWINCH resizes the container's terminal instead (the kernel then signals
  // its foreground process group).
  const forwarded = c.proxy ? FORWARDED.filter((s) => s !== 'SIGWINCH') : FORWARDED;
  for (const s of forwarded) process.on(s, forward);
  let code: number;
  try {
    await begin();
    ctx.logger.debug('started');
    const status = await sys.waitpidAsync(c.pid);
    ctx.logger.debug('container exited');
    code = status.exitCode ?? (status.signal !== null && status.signal !== undefined ? 128 + status.signal : 255);
  } finally {
    for (const s of forwarded) process.off(s, forward);
    await c.proxy?.close();
    reapOrphans();
    if (!c.keep) await deleteContainer(ctx, c.id, true);
  }
  return code;
}

/** Collects any other process re-parented to us (the container's children after its init died). */
function reapOrphans(): void {
  const sys = linux();
  try {
    while (sys.waitpid(-1, WNOHANG) !== null) {
      // keep reaping
    }
  } catch {
    // ECHILD: nothing left
  }
}
