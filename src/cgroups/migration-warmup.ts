// Keeping cgroup migrations cheap while a container is being created.
//
// Every write to a cgroup.procs file takes the kernel's global cgroup_threadgroup_rwsem for
// writing. When no migration happened within about one RCU grace period, that write first waits
// for a grace period: measured on this kind of machine, the first write after a pause costs
// 5–16 ms, and a write less than ~8 ms after the previous one costs 0.05 ms. `create` has a
// natural idle window while the init's Node starts (~25 ms); migrating the runtime into the
// cgroup it is already in (a no-op) at the start of that window, and again every few ms, pays the
// grace period there, so that moving the init into the container's cgroup later costs none.
import { closeSync, openSync, write, writeSync } from 'node:fs';
import { posix } from 'node:path';
import type { CgroupLayout } from './layout';
import { parseProcCgroup } from './layout';

/** Comfortably below the ~8 ms a grace period lasts here. */
export const WARMUP_INTERVAL_MS = 3;

/** Used as the runtime waits for the init (ParentChannel.whileWaiting): tick() every everyMs. */
export class MigrationWarmup {
  readonly everyMs = WARMUP_INTERVAL_MS;
  private fd: number | undefined;
  /** begin()'s write is in flight: the fd must stay open (its number must not be reused). */
  private pending = false;
  private stopped = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /**
   * The cgroup.procs file of the cgroup this process is in, in one hierarchy, opened for
   * writing; undefined where that is not possible (no cgroupfs, not privileged, read-only).
   */
  static open(layout: CgroupLayout, selfCgroup: string): MigrationWarmup | undefined {
    const file = ownProcsFile(layout, selfCgroup);
    if (file === undefined) return undefined;
    try {
      return new MigrationWarmup(openSync(file, 'w'));
    } catch {
      return undefined;
    }
  }

  /**
   * The first migration, on a libuv worker thread: it is the one that waits for a grace period,
   * and the runtime has other work meanwhile. Ticks may follow at once (in the kernel they wait
   * for the same grace period, no longer).
   */
  begin(): void {
    if (this.fd === undefined || this.pending) return;
    this.pending = true;
    write(this.fd, String(process.pid), (err) => {
      this.pending = false;
      if (err || this.stopped) this.stop();
    });
  }

  /** Migrates the runtime into the cgroup it is in, now. */
  tick(): void {
    if (this.fd === undefined || this.stopped) return;
    try {
      writeSync(this.fd, String(process.pid));
    } catch {
      // An optimisation only: a cgroup that refuses us (e.g. a v2 domain with controllers
      // enabled below it) just means the join pays its grace period.
      this.stop();
    }
  }

  /** No more migrations; the file is closed now, or when begin()'s write is done. */
  stop(): void {
    this.stopped = true;
    if (this.pending || this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** `<mount point>/<our cgroup>/cgroup.procs` in the first hierarchy whose mount we know. */
export function ownProcsFile(layout: CgroupLayout, selfCgroup: string): string | undefined {
  for (const entry of parseProcCgroup(selfCgroup)) {
    const mount =
      entry.id === 0
        ? layout.unified
        : layout.v1.find((h) => h.controllers.length === entry.controllers.length && h.controllers.every((c) => entry.controllers.includes(c)));
    if (mount === undefined) continue;
    const relative = posix.relative(mount.root, entry.path);
    if (relative.startsWith('..')) continue; // our cgroup is not below what is mounted
    return posix.join(mount.mountPoint, relative, 'cgroup.procs');
  }
  return undefined;
}
