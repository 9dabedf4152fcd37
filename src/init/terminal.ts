// The container's terminal (process.terminal), as runc's setupConsole + Setctty: a pty is
// allocated from the container's own devpts instance (/dev/ptmx -> pts/ptmx, mounted
// newinstance,ptmxmode=0666), so the slave is the container's /dev/pts/N; the master goes to
// the console socket (one sendmsg: the data "/dev/ptmx" and exactly one SCM_RIGHTS fd, the
// contract go-runc and conmon check), and the slave becomes fds 0-2 and the controlling
// terminal of a new session.
//
// This runs while the runtime is still waiting (before "created" or "ready"): the fds 0-2 the
// init got from `create` are replaced here, so that the caller's pipes see EOF as soon as the
// runtime exits (the shim reads create's output pipe to EOF before it goes on).
import type { Process } from '../spec';
import { makedev, type Syscalls } from '../linux/syscalls';
import { isErrno } from '../linux/errors';
import { AT_FDCWD, MS_BIND, O_CLOEXEC, O_NOCTTY, O_RDWR, S_IFCHR, S_IFMT } from '../linux/constants';
import { RootDir, procFd } from './rootfs/resolve';

/** What the console socket receives as data with the master (runc sends the master's name). */
export const CONSOLE_NAME = '/dev/ptmx';

const PTMX_DEV = makedev(5, 2);

export interface ConsoleOptions {
  /** Bind the slave onto /dev/console (the container's init; not for exec). */
  mountConsole: boolean;
}

/**
 * Allocates the pty, hands the master over `socketFd` (closed afterwards), and makes the slave
 * this process's stdio and controlling terminal. Call after pivot_root (or, for exec, after
 * joining the container's mount namespace): /dev/ptmx must be the container's.
 */
export function setupConsole(sys: Syscalls, socketFd: number, proc: Process, options: ConsoleOptions): void {
  let master: number;
  try {
    // With no /dev of ours, /dev/ptmx is the image's and could be anything: it must be the
    // ptmx device (5:2, as /dev/pts/ptmx is) before it is opened.
    const st = step('stat /dev/ptmx', () => sys.statx(AT_FDCWD, '/dev/ptmx', 0));
    if ((st.mode & S_IFMT) !== S_IFCHR || st.rdev !== PTMX_DEV) throw new Error('setting up the console: /dev/ptmx is not the ptmx device (char 5:2)');
    master = step('open /dev/ptmx', () => sys.open('/dev/ptmx', O_RDWR | O_NOCTTY | O_CLOEXEC));
  } catch (err) {
    closeQuietly(sys, socketFd);
    throw err;
  }
  let slave = -1;
  try {
    step('unlockpt', () => sys.unlockpt(master));
    const n = step('ptsname (TIOCGPTN)', () => sys.ptsNumber(master));
    slave = step('open the pty slave (TIOCGPTPEER)', () => sys.openPtsPeer(master, O_RDWR | O_NOCTTY | O_CLOEXEC));
    const size = proc.consoleSize;
    if (size && size.height > 0 && size.width > 0) {
      step('set the console size', () => sys.setWinsize(master, { rows: size.height, cols: size.width }));
    }
    if (options.mountConsole) mountConsole(sys, slave, `/dev/pts/${n}`);
    step('send the pty master to the console socket', () => sys.sendFds(socketFd, Buffer.from(CONSOLE_NAME), [master]));
  } catch (err) {
    if (slave >= 0) closeQuietly(sys, slave);
    throw err;
  } finally {
    closeQuietly(sys, master);
    closeQuietly(sys, socketFd);
  }
  try {
    step('make the pty the stdio', () => {
      for (const fd of [0, 1, 2]) sys.dup3(slave, fd, 0);
    });
  } finally {
    closeQuietly(sys, slave);
  }
  // A new session (we are never a process group leader: the stage cloned us), with the pty
  // as its controlling terminal.
  step('setsid', () => sys.setsid());
  step('set the controlling terminal (TIOCSCTTY)', () => sys.setControllingTerminal(0));
}

/**
 * /dev/console is a bind mount of the slave (runc's mountConsole): created as an empty file if
 * missing, resolved inside the (already pivoted) root, mounted through its fd when /proc is
 * there.
 */
function mountConsole(sys: Syscalls, slave: number, slavePath: string): void {
  const root = RootDir.open(sys, '/');
  try {
    const old = sys.umask(0);
    let fd: number;
    try {
      fd = step('create /dev/console', () => root.ensure('/dev/console', 'file'));
    } finally {
      sys.umask(old);
    }
    try {
      step(`bind ${slavePath} onto /dev/console`, () => {
        try {
          sys.mount(procFd(slave), procFd(fd), null, MS_BIND, null);
        } catch (err) {
          // No /proc in this container: plain paths, as runc does.
          if (!isErrno(err, 'ENOENT')) throw err;
          sys.mount(slavePath, '/dev/console', null, MS_BIND, null);
        }
      });
    } finally {
      root.closeQuietly(fd);
    }
  } finally {
    root.closeQuietly(root.fd);
  }
}

function step<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new Error(`setting up the console: ${what}: ${(err as Error).message}`, { cause: err });
  }
}

function closeQuietly(sys: Syscalls, fd: number): void {
  try {
    sys.close(fd);
  } catch {
    // already closed
  }
}
