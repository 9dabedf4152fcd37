// process.oomScoreAdj → /proc/self/oom_score_adj (inherited by the user process across execve).
// Lowering it below the current value needs CAP_SYS_RESOURCE.
import { writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { stepError } from './errors';

export function planOomScoreAdj(v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < -1000 || v > 1000) {
    throw new Error(`oomScoreAdj must be an integer from -1000 to 1000, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function applyOomScoreAdj(v: number | undefined, procSelf = '/proc/self'): void {
  if (v === undefined) return;
  try {
    writeFileSync(posix.join(procSelf, 'oom_score_adj'), String(v));
  } catch (err) {
    const code = (err as { code?: string }).code;
    const hint = code === 'EACCES' || code === 'EPERM' ? 'lowering it needs CAP_SYS_RESOURCE' : undefined;
    throw stepError(`setting oom_score_adj to ${v}`, err, hint);
  }
}
