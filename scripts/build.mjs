// Bundles the CLI (dist/tsrun.js) and every test file (build/test/**) with esbuild.
// Usage: node scripts/build.mjs [cli|tests|all]
import { build } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

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

// The schema validators are most of the code by size and only create/exec need them: they stay a
// separate file (dist/generated/validators.js), required on first use, so that every other
// command does not pay for parsing them at start-up.
const lazyValidators = {
  name: 'lazy-validators',
  setup(b) {
    b.onResolve({ filter: /\/generated\/validators$/ }, () => ({ path: './generated/validators.js', external: true }));
  },
};

// yargs' CommonJS build reads process.stdout.columns as it loads, and requires node:assert,
// which reads process.stderr (for its colours): making those two streams loads Node's stream
// stack, about 2 ms of every command, and makes the caller's stdout pipe non-blocking, for a
// value only help text needs. The CLI bundle gets yargs with the columns read when help is
// wrapped, and the two assert functions it uses (scripts/yargs-assert.cjs). The build fails if
// yargs no longer has the code edited (a new version must be looked at, not silently slower).
const lazyYargsStdio = {
  name: 'lazy-yargs-stdio',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]yargs[\\/]build[\\/]index\.cjs$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      const edits = [
        ['stdColumns:void 0!==process.stdout.columns?process.stdout.columns:null', 'get stdColumns(){return void 0!==process.stdout.columns?process.stdout.columns:null}'],
        ['var t=require("assert");', `var t=require(${JSON.stringify(join(process.cwd(), 'scripts', 'yargs-assert.cjs'))});`],
      ];
      for (const [from, to] of edits) {
        if (text.split(from).length !== 2) throw new Error(`lazy-yargs-stdio: ${args.path} no longer contains ${from} exactly once`);
        text = text.replace(from, to);
      }
      return { contents: text, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

if (what === 'cli' || what === 'all') {
  await build({
    ...common,
    entryPoints: { 'tsrun.bundle': 'src/cli/main.ts', 'init.bundle': 'src/init/main.ts' },
    outdir: 'dist',
    minify: true,
    plugins: [lazyValidators, lazyYargsStdio],
  });
  mkdirSync('dist/generated', { recursive: true });
  await build({ ...common, entryPoints: ['src/spec/generated/validators.js'], outfile: 'dist/generated/validators.bundle.js', minify: true });
  const loader = readFileSync('scripts/loader.cjs', 'utf8');
  for (const name of ['tsrun', 'init', 'generated/validators']) {
    writeFileSync(`dist/${name}.js`, loader.replace('__BUNDLE__', JSON.stringify(`${name.split('/').pop()}.bundle.js`)));
    rmSync(`dist/${name}.bundle.js.cache`, { force: true });
  }
}
if (what === 'tests' || what === 'all') {
  await build({ ...common, entryPoints: findTests('test'), outdir: 'build/test', outbase: 'test', sourcemap: 'inline' });
}
