// File access for the cgroup drivers. cgroupfs has rules plain files do not: a value must be
// written with ONE write(2) (the kernel parses each write separately: devices.allow takes one
// rule per write), a file that does not exist must never be created (O_CREAT in a cgroup
// directory fails, and a missing file means the controller or feature is absent), and
// directories are made and removed with mkdir/rmdir only. Every error names the file.
//
// The drivers only use this interface, so unit tests run them against a directory tree in a
// temporary directory that imitates a cgroupfs (test/unit/cgroups-*.test.ts).
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { sleepMs } from '../linux/sleep';

export interface CgroupFs {
  /** The whole content of dir/file (with its trailing newline). */
  read(dir: string, file: string): string;
  /** One write(2) of `value` to an existing dir/file. */
  write(dir: string, file: string, value: string): void;
  exists(path: string): boolean;
  /** mkdir(2); false when the directory already existed. */
  mkdir(path: string): boolean;
  /** rmdir(2); a directory that is already gone is not an error. */
  rmdir(path: string): void;
  /** Names of the subdirectories of `path` (child cgroups). */
  subdirs(path: string): string[];
}

/** A failed read or write of a cgroup file: names the file, the value and the errno. */
export class CgroupFileError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function describe(err: unknown): { code: string; text: string } {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? 'EIO';
  // Node's message is "CODE: text, syscall 'path'": keep only the text.
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(e.message ?? '');
  return { code, text: m ? m[1]! : (e.message ?? String(err)) };
}

export const nodeCgroupFs: CgroupFs = {
  read(dir, file) {
    const path = join(dir, file);
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      const { code, text } = describe(err);
      throw new CgroupFileError(path, code, `read ${path}: ${code}: ${text}`);
    }
  },
  write(dir, file, value) {
    const path = join(dir, file);
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | 0o2000000); // O_CLOEXEC
    } catch (err) {
      const { code, text } = describe(err);
      const why = code === 'ENOENT' ? 'the file does not exist (controller or feature not available here)' : text;
      throw new CgroupFileError(path, code, `write ${JSON.stringify(value)} to ${path}: ${code}: ${why}`);
    }
    try {
      writeSync(fd, value);
    } catch (err) {
      const { code, text } = describe(err);
      throw new CgroupFileError(path, code, `write ${JSON.stringify(value)} to ${path}: ${code}: ${text}`);
    } finally {
      closeSync(fd);
    }
  },
  exists: existsSync,
  mkdir(path) {
    try {
      mkdirSync(path, { mode: 0o755 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      const { code, text } = describe(err);
      throw new CgroupFileError(path, code, `mkdir ${path}: ${code}: ${text}`);
    }
  },
  rmdir(path) {
    try {
      rmdirSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      const { code, text } = describe(err);
      throw new CgroupFileError(path, code, `rmdir ${path}: ${code}: ${text}`);
    }
  },
  subdirs(path) {
    try {
      return readdirSync(path, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  },
};

/** The value of a one-number file (trailing newline removed); "max" reads as Infinity. */
export function readNumber(fs: CgroupFs, dir: string, file: string): number {
  const text = fs.read(dir, file).trim();
  if (text === 'max') return Infinity;
  const n = Number(text);
  if (text === '' || !Number.isFinite(n)) throw new CgroupFileError(join(dir, file), 'EINVAL', `${join(dir, file)}: not a number: ${JSON.stringify(text)}`);
  return n;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events...) as a map of numbers. */
export function readKeyValues(fs: CgroupFs, dir: string, file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.read(dir, file).split('\n')) {
    const m = /^(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Pids listed in dir/cgroup.procs. */
export function readPids(fs: CgroupFs, dir: string): number[] {
  return fs
    .read(dir, 'cgroup.procs')
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}


/**
 * Writes a pid into dir/cgroup.procs. EINVAL can mean the task is still being created
 * (TASK_NEW): retried a few times, as runc does.
 */
export function writePid(fs: CgroupFs, dir: string, pid: number): void {
  for (let i = 0; ; i++) {
    try {
      fs.write(dir, 'cgroup.procs', String(pid));
      return;
    } catch (err) {
      if (!(err instanceof CgroupFileError) || err.code !== 'EINVAL' || i >= 4) throw err;
      sleepMs(30);
    }
  }
}

/**
 * Removes a cgroup directory and its child cgroups (deepest first). A cgroup whose last
 * process has just died can still be busy for a moment: EBUSY is retried with a growing
 * delay (10 ms doubling, 5 tries: runc's RemovePaths).
 */
export function removeCgroupDir(fs: CgroupFs, path: string): void {
  let delay = 10;
  for (let attempt = 0; ; attempt++) {
    try {
      removeTree(fs, path);
      return;
    } catch (err) {
      if (!(err instanceof CgroupFileError) || (err.code !== 'EBUSY' && err.code !== 'ENOTEMPTY') || attempt >= 5) throw err;
      sleepMs(delay);
      delay *= 2;
    }
  }
}

function removeTree(fs: CgroupFs, path: string): void {
  for (const child of fs.subdirs(path)) removeTree(fs, join(path, child));
  fs.rmdir(path);
}
