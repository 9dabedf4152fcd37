// The hostile-bundle battery's common ground (test/integration/hostile-*.test.ts): a work
// directory of its own (rootfs copies, bundles, outputs), a state root of its own, unique ids
// and cgroup paths, and the checks that nothing is left behind — no state directory, no
// process of ours (found by its cwd or by its mount table, which names our rootfs), no cgroup
// directory, no mount of ours in the host's table.
import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { REPO, TSRUN, tsrun, uniqueId, type Result } from './tsrun';
import { need } from './need';
import { waitFor as waitForCondition } from './wait';

export { uniqueId };

export { sleepMs } from '../../src/linux/sleep';

/** Polls `cond` until true (or throws after `timeoutMs`, naming `what`). */
/** waitFor with the description first, as the hostile tests call it. */
export function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  return waitForCondition(cond, what, timeoutMs);
}

/** Host mount points of every cgroup hierarchy (v1 controllers and cgroup2). */
export function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4]!);
}

export class Battery {
  /** Everything of this battery lives under here (rootfs copies, bundles, outputs). */
  readonly work: string;
  readonly root: string;
  private bundles = 0;
  private cgroups = new Set<string>();
  private mountsBefore: string;

  constructor(readonly name: string) {
    need(process.getuid?.() === 0, 'root');
    need(existsSync(TSRUN), `${TSRUN} (make build)`);
    this.work = mkdtempSync(join(tmpdir(), `tsrun-hostile-${name}-`));
    // Containers with a user namespace run as an unprivileged host uid that must reach the rootfs.
    chmodSync(this.work, 0o755);
    this.root = join(this.work, 'state');
    this.mountsBefore = readFileSync('/proc/self/mountinfo', 'utf8');
  }

  /** tsrun with this battery's --root, run from the work directory (so every stage has it as cwd). */
  rt(args: string[], options: SpawnSyncOptions = {}): Result {
    return tsrun(['--root', this.root, ...args], { cwd: this.work, ...options });
  }

  /** For create/run -d: the container keeps stdout/stderr, so they go to files (returned too). */
  rtFiles(args: string[], name = uniqueId('out')): Result & { out: string; err: string } {
    const out = join(this.work, `${name}.stdout`);
    const err = join(this.work, `${name}.stderr`);
    const o = openSync(out, 'w');
    const e = openSync(err, 'w');
    try {
      const r = spawnSync(TSRUN, ['--root', this.root, ...args], { cwd: this.work, stdio: ['ignore', o, e], timeout: 30_000 });
      if (r.error) throw r.error;
      return { code: r.status, signal: r.signal, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8'), out, err };
    } finally {
      closeSync(o);
      closeSync(e);
    }
  }

  /** A fresh busybox root filesystem of this battery's own (tests may make it hostile). */
  rootfs(name: string): string {
    const dir = join(this.work, `rootfs-${name}`);
    execFileSync(join(REPO, 'scripts', 'make-rootfs.sh'), [dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    return dir;
  }

  /** runc's default config (bundles/busybox) on `rootfs`, running `args`, with a cgroup of its own. */
  config(rootfs: string, args: string[]): Config {
    const config = JSON.parse(readFileSync(join(REPO, 'bundles', 'busybox', 'config.json'), 'utf8')) as Config;
    config.process.args = args;
    config.root = { path: rootfs, readonly: true };
    const cgroupsPath = `/tsrun-hostile/${uniqueId(this.name)}`;
    this.cgroups.add(cgroupsPath);
    config.linux.cgroupsPath = cgroupsPath;
    return config;
  }

  bundle(config: object, raw?: string): string {
    const dir = join(this.work, `bundle-${++this.bundles}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), raw ?? JSON.stringify(config, null, 2));
    return dir;
  }

  /** Host pids of every process of this battery's containers (live, not zombies). */
  processes(): number[] {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
        // Before pivot_root the stages and the init have our work directory as cwd; after it,
        // their mount table names our rootfs. tsrun itself (run from here too) is excluded.
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmdline.includes(join(REPO, 'dist', 'tsrun.js'))) continue;
        const cwd = readlinkSync(`/proc/${pid}/cwd`);
        // (The mount table gives paths inside each filesystem: match the work directory's name.)
        if (cwd === this.work || cwd.startsWith(this.work + '/') || readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes(basename(this.work))) out.push(pid);
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }

  /** Cgroup directories of this battery's containers that exist on the host. */
  cgroupDirs(): string[] {
    const out: string[] = [];
    for (const mount of cgroupMounts()) {
      for (const path of this.cgroups) if (existsSync(join(mount, path))) out.push(join(mount, path));
    }
    return out;
  }

  /** Host mounts that appeared since the battery started and concern it or `paths`. */
  newMounts(paths: string[] = []): string[] {
    const before = new Set(this.mountsBefore.split('\n'));
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => !before.has(l))
      .filter((l) => l.includes(basename(this.work)) || l.includes('tsrun-hostile') || paths.some((p) => l.split(' ')[4] === p));
  }

  /** What is left behind right now: [] when nothing. */
  leftovers(paths: string[] = []): string[] {
    const left: string[] = [];
    const states = existsSync(this.root) ? readdirSync(this.root) : [];
    if (states.length > 0) left.push(`state directories: ${states.join(', ')}`);
    const procs = this.processes();
    if (procs.length > 0) left.push(`processes: ${procs.map((p) => `${p} (${safeCmdline(p)})`).join(', ')}`);
    const cg = this.cgroupDirs();
    if (cg.length > 0) left.push(`cgroups: ${cg.join(', ')}`);
    const mounts = this.newMounts(paths);
    if (mounts.length > 0) left.push(`mounts: ${mounts.join(' | ')}`);
    return left;
  }

  /** Waits (bounded) until nothing is left, returning what still is. */
  async settle(paths: string[] = [], timeoutMs = 5_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = this.leftovers(paths);
      if (left.length === 0 || Date.now() > deadline) return left;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * For after(): force-deletes whatever a failed test left, kills stray processes, removes
   * stray cgroups, then reports what had to be cleaned (the test run fails if anything had).
   */
  async cleanup(): Promise<string[]> {
    const found = await this.settle([], 2_000);
    if (existsSync(this.root)) for (const id of readdirSync(this.root)) this.rt(['delete', '--force', id]);
    for (const pid of this.processes()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await this.settle([], 5_000);
    for (const dir of this.cgroupDirs()) {
      try {
        rmdirSync(dir);
      } catch {
        // rmdir of a cgroup: best effort here
      }
    }
    for (const mount of cgroupMounts()) {
      try {
        rmdirSync(join(mount, 'tsrun-hostile'));
      } catch {
        // other batteries' cgroups may still be there
      }
    }
    rmSync(this.work, { recursive: true, force: true });
    return found;
  }
}

function safeCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '?';
  }
}

export interface Config {
  process: Record<string, unknown> & { args: string[]; capabilities: Record<string, string[]> };
  root: { path: string; readonly?: boolean };
  mounts: Array<{ destination: string; type?: string; source?: string; options?: string[] }>;
  linux: Record<string, unknown> & { namespaces: Array<{ type: string; path?: string }> };
  [key: string]: unknown;
}

/** Compiles a C helper of test/integration/hostile/ (static unless told otherwise) into `dir`. */
export function compileHelper(name: string, dir: string, staticLink = true): string {
  const out = join(dir, name);
  const src = join(REPO, 'test', 'integration', 'hostile', `${name}.c`);
  const r = spawnSync('cc', [...(staticLink ? ['-static'] : []), '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, src], { encoding: 'utf8' });
  need(!r.error, `a C compiler (cc) for ${src}`);
  if (r.status !== 0) throw new Error(`cc ${src} failed:\n${r.stderr}`);
  return out;
}
