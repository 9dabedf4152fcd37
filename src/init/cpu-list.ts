// The kernel's list format for CPUs and NUMA nodes ("0-3,7"), as in cpuset.cpus and the OCI
// fields memoryPolicy.nodes and execCPUAffinity.initial/final.

/** Parses "0-3,7" into [0,1,2,3,7]; throws naming `what` on anything else. Empty gives []. */
export function parseList(text: string, what: string, max = 8191): number[] {
  const out = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === '') return [];
  for (const part of trimmed.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`${what}: invalid list ${JSON.stringify(text)} (expected e.g. "0-3,7")`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`${what}: invalid range ${JSON.stringify(part.trim())} in ${JSON.stringify(text)}`);
    if (hi > max) throw new Error(`${what}: ${hi} is out of range (at most ${max})`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}
