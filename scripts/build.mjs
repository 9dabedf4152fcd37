// Bundles the CLI (dist/tsrun.js) and every test file (build/test/**) with esbuild.
// Usage: node scripts/build.mjs [cli|tests|all]
import { build } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;

const what = process.argv[2] ?? 'all';
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['koffi'],
  logLevel: 'warning',
  legalComments: 'none',
  define: { TSRUN_VERSION: JSON.stringify(version), TSRUN_COMMIT: JSON.stringify(gitCommit()) },
};

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

if (what === 'cli' || what === 'all') {
  await build({ ...common, entryPoints: { tsrun: 'src/cli/main.ts', init: 'src/init/main.ts' }, outdir: 'dist', minify: true });
}
if (what === 'tests' || what === 'all') {
  await build({ ...common, entryPoints: findTests('test'), outdir: 'build/test', outbase: 'test', sourcemap: 'inline' });
}
