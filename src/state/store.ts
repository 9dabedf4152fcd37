// The state store: one directory per container under --root. state.json is replaced atomically
// (temp file + rename) so a reader never sees half a record; mutating commands take a per-container
// flock so concurrent commands on one id serialize.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Syscalls } from '../linux/syscalls';
import type { Hooks, LinuxSeccomp, Process } from '../spec';
import { LOCK_EX, LOCK_UN, MNT_DETACH, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../linux/constants';
import { validateContainerId } from './id';
import type { CgroupRecord } from '../cgroups/manager';

export const DEFAULT_ROOT = '/run/tsrun';
const STATE_FILE = 'state.json';
/** Where `restore` binds the rootfs for criu while it runs (see runtime/restore.ts). */
export const CRIU_ROOT = 'criu-root';

/** What tsrun remembers about a container between commands. */
export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** Host pid of the container's init process (0 before it exists). */
  pid: number;
  /** Field 22 of /proc/PID/stat at creation, to tell the init from a recycled pid. */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339 creation time. */
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** The config's process: the defaults of `exec`. */
  process?: Process;
  /** Hooks that run after create has returned (poststart at start, poststop at delete). */
  hooks?: Pick<Hooks, 'poststart' | 'poststop'>;
  /** The container's cgroup (directories per hierarchy, applied resources); absent: none. */
  cgroup?: CgroupRecord;
  /** The config's linux.seccomp: `exec` applies it to the processes it starts. */
  seccomp?: LinuxSeccomp;
}

export class ContainerNotFoundError extends Error {
  constructor(readonly id: string) {
    super('container does not exist');
  }
}

export class ContainerExistsError extends Error {
  constructor(readonly id: string) {
    super('container with given ID already exists');
  }
}

export type LockingSyscalls = Pick<Syscalls, 'open' | 'flock' | 'close' | 'umount2'>;

export class StateStore {
  constructor(
    readonly root: string,
    private readonly sys: () => LockingSyscalls,
  ) {}

  dir(id: string): string {
    return join(this.root, validateContainerId(id));
  }

  exists(id: string): boolean {
    try {
      return statSync(this.dir(id)).isDirectory();
    } catch {
      return false;
    }
  }

  /** Claims the id by creating its directory; exactly one concurrent claimant wins. */
  claim(id: string): string {
    const dir = this.dir(id);
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ContainerExistsError(id);
      throw err;
    }
    return dir;
  }

  read(id: string): ContainerRecord {
    const file = join(this.dir(id), STATE_FILE);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
        throw new ContainerNotFoundError(id);
      }
      throw err;
    }
    return JSON.parse(text) as ContainerRecord;
  }

  write(record: ContainerRecord): void {
    const dir = this.dir(record.id);
    const tmp = join(dir, `.${STATE_FILE}.${process.pid}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      // No fsync: this is runtime state (normally on tmpfs, lost with the containers on a
      // crash); the rename alone makes the update atomic for readers, as with runc.
      writeFileSync(fd, JSON.stringify(record));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, STATE_FILE));
  }

  /** Removes every trace of the container from the store. */
  remove(id: string): void {
    // A restore killed while the rootfs was bound here: detach it first, so that the recursive
    // removal can never reach into the container's root filesystem.
    const criuRoot = join(this.dir(id), CRIU_ROOT);
    if (existsSync(criuRoot)) {
      try {
        this.sys().umount2(criuRoot, MNT_DETACH);
      } catch {
        // not a mount point (the restore had not bound it yet)
      }
    }
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Ids of every container with a state directory, sorted. */
  ids(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => this.exists(n) && existsSync(join(this.root, n, STATE_FILE))).sort();
  }

  /** Runs fn while holding the container's exclusive lock (flock on its directory). */
  async withLock<T>(id: string, fn: () => Promise<T> | T): Promise<T> {
    const sys = this.sys();
    let fd: number;
    try {
      fd = sys.open(this.dir(id), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') throw new ContainerNotFoundError(id);
      throw err;
    }
    try {
      sys.flock(fd, LOCK_EX);
      return await fn();
    } finally {
      try {
        sys.flock(fd, LOCK_UN);
      } finally {
        sys.close(fd);
      }
    }
  }
}
