// Reading a bundle: config.json parsed and validated against tsrun's schemas, the root
// filesystem located. Nothing is created here, so bad input leaves no trace.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { validateConfig, type Spec } from '../spec';

export class BundleError extends Error {}

export interface Bundle {
  /** Absolute bundle directory. */
  dir: string;
  spec: Spec;
  /** Absolute path of the root filesystem (host view). */
  rootfs: string;
}

export function loadBundle(dir: string): Bundle {
  const bundle = resolve(dir);
  const file = join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BundleError(`${file}: no such file or directory`);
    throw new BundleError(`${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BundleError(`config.json: invalid JSON: ${(err as Error).message}`);
  }
  const spec = validateConfig(value);
  const root = spec.root?.path;
  if (root === undefined) throw new BundleError('config.json: /root: must have required property \'root\'');
  const rootfs = isAbsolute(root) ? root : join(bundle, root);
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {
    throw new BundleError(`root.path: rootfs ${rootfs} does not exist`);
  }
  if (!isDir) throw new BundleError(`root.path: rootfs ${rootfs} is not a directory`);
  return { dir: bundle, spec, rootfs };
}
