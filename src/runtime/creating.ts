// What a `create` in progress has made, written to the container's state directory before it
// exists: the cgroup paths before the directories are made, the init's pid and start time as
// soon as it exists. state.json is only written at the end; if the runtime is killed before
// that (SIGKILL, OOM killer, a client's timeout), `delete --force ID` reads this note to remove
// what the create left behind: the init (which exits by itself when it sees the runtime's end
// of the sync channel close, see src/init/main.ts), then the cgroup, then the state directory.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandContext } from '../cli/context';
import type { CgroupManager, CgroupRecord } from '../cgroups';
import { isProcessAlive, processStartTime } from '../linux/proc';
import { ContainerNotFoundError } from '../state/store';
import { recordedCgroup, removeAfterFailedCreate } from './cgroup';
import { sleepMs } from '../linux/sleep';

export const CREATING_FILE = 'creating.json';
const STATE_FILE = 'state.json';

export interface CreatingNote {
  cgroup?: CgroupRecord | undefined;
  pid?: number | undefined;
  pidStartTime?: string | undefined;
}

function read(dir: string): CreatingNote {
  try {
    return JSON.parse(readFileSync(join(dir, CREATING_FILE), 'utf8')) as CreatingNote;
  } catch {
    return {};
  }
}

/** Adds to the note of the container being created in `dir` (atomically replaced). */
export function noteCreating(dir: string, patch: CreatingNote): void {
  const note = { ...read(dir), ...patch };
  const tmp = join(dir, `.${CREATING_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(note), { mode: 0o600 });
  renameSync(tmp, join(dir, CREATING_FILE));
}

/** The init exists: its pid and start time (to tell it from a recycled pid later). */
export function noteInit(dir: string, pid: number): void {
  noteCreating(dir, { pid, pidStartTime: processStartTime(pid) ?? '' });
}

/**
 * The end of a container that was never recorded (a failed create or restore, a half-made one):
 * its cgroup, once `pid` (already killed) has left it, then its state directory. A cgroup that
 * cannot be removed is a warning: the failure that brought us here is the error reported.
 */
export async function discardUnrecorded(ctx: CommandContext, id: string, cgroup: CgroupManager | undefined, pid: number, what: string): Promise<void> {
  if (cgroup) {
    try {
      await removeAfterFailedCreate(cgroup, pid);
    } catch (err) {
      ctx.logger.warn(`removing the cgroup of ${what}: ${(err as Error).message}`);
    }
  }
  ctx.store.remove(id);
}

/**
 * `delete --force` of a container that has a state directory but no state.json: a create in
 * progress or one that was killed. Waits for the container's lock (a live create holds it until
 * it has either recorded the container or removed everything), then removes what the note says
 * exists. Returns false when the create completed meanwhile (state.json exists now: the caller
 * deletes it as any other container).
 */
export async function removeHalfMade(ctx: CommandContext, id: string): Promise<boolean> {
  const dir = ctx.store.dir(id);
  try {
    return await ctx.store.withLock(id, async () => {
      try {
        readFileSync(join(dir, STATE_FILE));
        return false;
      } catch {
        // no state.json: a half-made container
      }
      const note = read(dir);
      const pid = note.pid ?? 0;
      if (pid > 0 && isProcessAlive(pid, note.pidStartTime)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
        const deadline = Date.now() + 10_000;
        while (isProcessAlive(pid, note.pidStartTime) && Date.now() < deadline) sleepMs(2);
      }
      const cgroup = note.cgroup ? recordedCgroup(note.cgroup, (m) => ctx.logger.warn(m)) : undefined;
      await discardUnrecorded(ctx, id, cgroup, pid, `the half-made container ${id}`);
      return true;
    });
  } catch (err) {
    if (err instanceof ContainerNotFoundError) return true; // the create failed and cleaned up meanwhile
    throw err;
  }
}
