// `tsrun spec`: writes a default config.json into the bundle (runc's defaults; --rootless
// gives the variant for a container in a user namespace owned by the caller).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandArgs, CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { defaultSpec, rootlessSpec } from '../runtime/default-spec';

export default function spec(ctx: CommandContext, args: CommandArgs): void {
  const bundle = typeof args.bundle === 'string' && args.bundle !== '' ? args.bundle : '.';
  const file = join(bundle, 'config.json');
  if (existsSync(file)) throw new CommandError('File config.json exists. Remove it first');
  const config = ctx.options.rootless === 'true' ? rootlessSpec(process.getuid?.() ?? 0, process.getgid?.() ?? 0) : defaultSpec();
  writeFileSync(file, JSON.stringify(config, null, '\t'), { mode: 0o666 });
}
