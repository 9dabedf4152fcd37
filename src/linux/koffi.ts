// Loading koffi. Its package entry (index.js) requires crypto, https and zlib at load time for
// its prebuilt-binary downloader, about 8 ms of every tsrun process that makes a system call
// (the CLI and every container init); the native module it then loads is the whole API tsrun
// uses (index.js only adds deprecated aliases). So the native module is loaded directly, with
// the package entry as the fallback for a layout this does not know.
import type * as Koffi from 'koffi';

let cached: typeof Koffi | undefined;

export function loadKoffi(): typeof Koffi {
  if (cached) return cached;
  try {
    const native = require(`koffi/build/koffi/${process.platform}_${process.arch}/koffi.node`) as typeof Koffi & { version?: string };
    const { version } = require('koffi/package.json') as { version: string };
    if (native.version !== version) throw new Error(`koffi native module ${native.version} does not match the package ${version}`);
    cached = native;
  } catch {
    cached = require('koffi') as typeof Koffi;
  }
  return cached;
}
