'use strict';
// Start-up loader generated into dist/ by scripts/build.mjs (one per bundle). It runs the
// esbuild bundle next to it with V8's code cache: compiling the bundle is most of a Node
// start's own cost, and tsrun starts Node for every command and every container init.
// The cache is made at build time (TSRUN_WRITE_CODE_CACHE=1); a missing or stale cache only
// costs the compile it would have saved.
const { readFileSync, writeFileSync } = require('fs');
const { Script } = require('vm');
const Module = require('module');
const bundle = require('path').join(__dirname, __BUNDLE__);
let cachedData;
try {
  cachedData = readFileSync(bundle + '.cache');
} catch {
  cachedData = undefined;
}
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
if (process.env.TSRUN_WRITE_CODE_CACHE === '1') {
  process.once('exit', () => writeFileSync(bundle + '.cache', script.createCachedData()));
}
// The bundle runs as this very module: what it exports, this file exports.
script.runInThisContext()(module.exports, Module.createRequire(bundle), module, bundle, __dirname);
