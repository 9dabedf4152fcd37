// A container's status is derived from the live system, never trusted from the record:
// the init must still be the same process (pid AND start time), the exec fifo marks
// "created" (the user process has not been started), and a frozen cgroup marks "paused".
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from '../linux/proc';
import type { ContainerRecord } from './store';
import { cgroupFrozen } from '../cgroups/state';

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export const EXEC_FIFO = 'exec.fifo';

export function containerStatus(record: ContainerRecord, stateDir: string): ContainerStatus {
  if (record.pid <= 0 || !isProcessAlive(record.pid, record.pidStartTime)) return 'stopped';
  if (cgroupFrozen(record.cgroup)) return 'paused';
  if (existsSync(join(stateDir, EXEC_FIFO))) return 'created';
  return 'running';
}

/** The state document of the OCI runtime spec, with runc's extra fields. */
export interface StateView {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

export function stateView(record: ContainerRecord, status: ContainerStatus): StateView {
  const view: StateView = {
    ociVersion: record.ociVersion,
    id: record.id,
    pid: status === 'stopped' ? 0 : record.pid,
    status,
    bundle: record.bundle,
    rootfs: record.rootfs,
    created: record.created,
    owner: record.owner,
  };
  if (record.annotations && Object.keys(record.annotations).length > 0) view.annotations = record.annotations;
  return view;
}
