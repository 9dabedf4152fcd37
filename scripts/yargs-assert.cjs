'use strict';
// The two functions of node:assert that yargs uses, for the CLI bundle (see the
// lazy-yargs-stdio plugin in scripts/build.mjs): node:assert itself builds process.stderr when
// it loads (for its colours), which costs every command Node's stream stack.
function fail(message, fallback) {
  if (message instanceof Error) throw message;
  throw new Error(message === undefined ? fallback : String(message));
}
exports.strictEqual = (actual, expected, message) => {
  if (!Object.is(actual, expected)) fail(message, `expected ${String(expected)}, got ${String(actual)}`);
};
exports.notStrictEqual = (actual, expected, message) => {
  if (Object.is(actual, expected)) fail(message, `expected anything but ${String(expected)}`);
};
