// Whether a container's cgroup is frozen (`state` says "paused"), with no more than a file
// read or two: status.ts calls this for every `state`/`list`.
import { nodeCgroupFs, type CgroupFs } from './fs';
import type { CgroupRecord } from './manager';
import { readOptional } from './common';
import { v1Frozen } from './v1';

export function cgroupFrozen(record: CgroupRecord | undefined, fs: CgroupFs = nodeCgroupFs): boolean {
  if (!record) return false;
  try {
    if (record.driver === 'v2') {
      const dir = record.paths[''];
      return dir !== undefined && (readOptional(fs, dir, 'cgroup.freeze') ?? '').trim() === '1';
    }
    const dir = record.paths.freezer;
    return dir !== undefined && v1Frozen(fs, dir);
  } catch {
    return false; // cgroup gone: the container is not paused
  }
}
