#!/usr/bin/env node
// make bench: times tsrun and runc side by side on the same inputs and prints medians and the
// tsrun/runc ratio. A benchmark, not a test: it asserts nothing. Usage: node bench/bench.mjs [runs]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
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
const rootfs = join(repo, 'bundles', 'busybox', 'rootfs');
if (!existsSync(rootfs)) {
  console.error(`bench: ${rootfs} is missing (make bundles/busybox/rootfs)`);
  process.exit(1);
}
/** One bundle for both runtimes: the example config running `args`. */
function bundle(name, args) {
  const config = JSON.parse(readFileSync(join(repo, 'bundles', 'busybox', 'config.json'), 'utf8'));
  config.process.args = args;
  config.root = { path: rootfs, readonly: true };
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}
// The environment clients run us in on these machines (NODE_EXTRA_CA_CERTS included): the
// launcher is expected to shed what it does not need.
const env = { ...process.env };

function timeOnce(bin, args) {
  const t0 = process.hrtime.bigint();
  // No pipes: a created container keeps the stdio it was given, so a pipe would never close.
  const r = spawnSync(bin, args, { env, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  return { ms, code: r.status };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * A case is a function (label, i) -> list of argument vectors run in sequence (their times
 * add up), run `runs` times per runtime, interleaved. Every step must exit with `expectCode`.
 */
function bench(name, stepsFor, expectCode) {
  const times = { tsrun: [], runc: [] };
  for (let i = 0; i < runs; i++) {
    for (const [label, bin] of [['tsrun', TSRUN], ['runc', RUNC]]) {
      let total = 0;
      for (const args of stepsFor(label, i)) {
        const { ms, code } = timeOnce(bin, args);
        if (code !== expectCode) throw new Error(`${name}: ${label} ${args.join(' ')} exited ${code}, expected ${expectCode}`);
        total += ms;
      }
      times[label].push(total);
    }
  }
  const t = median(times.tsrun);
  const r = median(times.runc);
  console.log(`${name.padEnd(28)} ${t.toFixed(1).padStart(8)} ms ${r.toFixed(1).padStart(8)} ms ${(t / r).toFixed(2).padStart(7)}x`);
}

console.log(`median of ${runs} runs each${' '.repeat(8)}     tsrun      runc   ratio`);
try {
  bench('--version', () => [['--version']], 0);
  bench('state <unknown id>', (label) => [['--root', join(work, label), 'state', 'nosuch']], 1);
  bench('list (empty root)', (label) => [['--root', join(work, label), 'list']], 0);
  bench('spec', (label, i) => {
    const dir = join(work, `spec-${label}-${i}`);
    mkdirSync(dir, { recursive: true });
    return [['spec', '--bundle', dir]];
  }, 0);
  const trueBundle = bundle('true', ['/bin/true']);
  bench('run /bin/true', (label, i) => [['--root', join(work, label), 'run', '--bundle', trueBundle, `bench-run-${i}`]], 0);
  bench('create + start + delete -f', (label, i) => {
    const root = ['--root', join(work, label)];
    const id = `bench-cycle-${i}`;
    return [[...root, 'create', '--bundle', trueBundle, id], [...root, 'start', id], [...root, 'delete', '--force', id]];
  }, 0);
} finally {
  rmSync(work, { recursive: true, force: true });
}
