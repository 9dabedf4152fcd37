// process.execCPUAffinity, as runc 1.2+ applies it: `initial` is the CPU set the process runs
// on before it enters the container's cgroup (set as early as possible, on the init or exec
// stage's main thread: the thread that becomes the user process), `final` the set it runs on
// after (set right before execve). Without `final` the affinity is left as the kernel makes it.
import type { Process } from '../spec';
import { schedSetaffinity } from '../linux/numa';
import { parseList } from './cpu-list';

export interface PlannedAffinity {
  initial: number[] | undefined;
  final: number[] | undefined;
}

export function planCpuAffinity(process: Process | undefined): PlannedAffinity {
  const a = process?.execCPUAffinity;
  const list = (v: string | undefined, what: string): number[] | undefined => {
    if (v === undefined || v.trim() === '') return undefined;
    const cpus = parseList(v, what);
    return cpus.length > 0 ? cpus : undefined;
  };
  return { initial: list(a?.initial, 'process.execCPUAffinity.initial'), final: list(a?.final, 'process.execCPUAffinity.final') };
}

function set(cpus: number[] | undefined, what: string, text: string | undefined): void {
  if (!cpus) return;
  try {
    schedSetaffinity(0, cpus, text ?? '');
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message} (no usable CPU in ${JSON.stringify(text)}?)`, { cause: err });
  }
}

export function applyInitialAffinity(process: Process | undefined): void {
  set(planCpuAffinity(process).initial, 'process.execCPUAffinity.initial', process?.execCPUAffinity?.initial);
}

export function applyFinalAffinity(process: Process | undefined): void {
  set(planCpuAffinity(process).final, 'process.execCPUAffinity.final', process?.execCPUAffinity?.final);
}
