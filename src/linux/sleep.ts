// A blocking sleep for the synchronous code paths (cgroup writes retried, a process awaited):
// the thread waits on a futex nobody wakes, so nothing else runs meanwhile.
const cell = new Int32Array(new SharedArrayBuffer(4));

export function sleepMs(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}
