// Tiny offline OCI images for clients that take images (containerd's `ctr images import`): the
// busybox rootfs of scripts/make-rootfs.sh as one uncompressed layer, an image config per image
// with its entrypoint and command, packed as one OCI image layout archive whose images are named
// docker.io/library/NAME:latest.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './tsrun';

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

/** Writes a blob into the layout and returns its descriptor fields. */
function blob(layout: string, content: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(content).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), content);
  return { digest: `sha256:${hex}`, size: content.length };
}

export interface ImageSpec {
  name: string;
  entrypoint?: string[];
  cmd: string[];
}

/**
 * Builds one archive under `dir` holding an image per spec (the same busybox layer, each its own
 * config); returns the archive's path and the images' full references.
 */
export function buildBusyboxImages(dir: string, specs: ImageSpec[]): { archive: string; refs: string[] } {
  const rootfs = join(dir, 'rootfs');
  const layout = join(dir, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  run(join(REPO, 'scripts', 'make-rootfs.sh'), [rootfs]);
  const layerTar = join(dir, 'layer.tar');
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', rootfs, '-cf', layerTar, '.']);
  const layer = blob(layout, readFileSync(layerTar));
  const architecture = ARCH[process.arch] ?? process.arch;
  const manifests = specs.map((spec) => {
    const config = blob(
      layout,
      Buffer.from(
        JSON.stringify({
          architecture,
          os: 'linux',
          config: {
            Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
            ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
            Cmd: spec.cmd,
            WorkingDir: '/',
          },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
        }),
      ),
    );
    const manifest = blob(
      layout,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
        }),
      ),
    );
    const ref = `docker.io/library/${spec.name}:latest`;
    return {
      ref,
      descriptor: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifest,
        platform: { architecture, os: 'linux' },
        annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': 'latest' },
      },
    };
  });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: manifests.map((m) => m.descriptor) }),
  );
  const archive = join(dir, 'images.tar');
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', layout, '-cf', archive, '.']);
  return { archive, refs: manifests.map((m) => m.ref) };
}
