#!/usr/bin/env node
// make bench: times tsrun and runc side by side on the same inputs and prints medians and the
// tsrun/runc ratio. A benchmark, not a test: it asserts nothing. Usage: node bench/bench.mjs [runs]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const runs = Number(process.argv[2] ?? 20);
const repo = resolve(new URL('..', import.meta.url).pathname);
const TSRUN = join(repo, 'bin', 'tsrun');
const RUNC = process.env.RUNC ?? '/usr/sbin/runc';
for (const bin of [TSRUN, RUNC]) {
  if (!existsSync(bin)) {
    console.error(`bench: ${bin} is missing (make build; apt-get install runc)`);
    process.exit(1);
  }
}
const work = mkdtempSync(join(tmpdir(), 'tsrun-bench-'));
// The environment clients run us in on these machines (NODE_EXTRA_CA_CERTS included): the
// launcher is expected to shed what it does not need.
const env = { ...process.env };

function timeOnce(bin, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  return { ms, code: r.status };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A case is a function (bin, i) -> args, run `runs` times per runtime, interleaved. */
function bench(name, argsFor, expectCode) {
  const times = { tsrun: [], runc: [] };
  for (let i = 0; i < runs; i++) {
    for (const [label, bin] of [['tsrun', TSRUN], ['runc', RUNC]]) {
      const { ms, code } = timeOnce(bin, argsFor(label, i));
      if (code !== expectCode) throw new Error(`${name}: ${label} exited ${code}, expected ${expectCode}`);
      times[label].push(ms);
    }
  }
  const t = median(times.tsrun);
  const r = median(times.runc);
  console.log(`${name.padEnd(28)} ${t.toFixed(1).padStart(8)} ms ${r.toFixed(1).padStart(8)} ms ${(t / r).toFixed(2).padStart(7)}x`);
}

console.log(`median of ${runs} runs each${' '.repeat(8)}     tsrun      runc   ratio`);
try {
  bench('--version', () => ['--version'], 0);
  bench('state <unknown id>', (label) => ['--root', join(work, label), 'state', 'nosuch'], 1);
  bench('list (empty root)', (label) => ['--root', join(work, label), 'list'], 0);
  bench('spec', (label, i) => {
    const dir = join(work, `spec-${label}-${i}`);
    spawnSync('mkdir', ['-p', dir]);
    return ['spec', '--bundle', dir];
  }, 0);
} finally {
  rmSync(work, { recursive: true, force: true });
}
