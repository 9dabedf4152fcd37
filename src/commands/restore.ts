// `tsrun restore [options] ID`: a new container from a bundle and criu's images (see
// runtime/restore.ts); in the foreground it waits and exits with the container's status.
import type { CommandArgs, CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { restoreContainer } from '../runtime/restore';
import { criuFlags, stringFlag } from './criu-flags';

export default async function restore(ctx: CommandContext, args: CommandArgs): Promise<number> {
  const flags = criuFlags(args);
  if (args.noPivot === true) {
    throw new CommandError('--no-pivot: criu restores the mount namespace itself with pivot_root; a restore without it is not supported');
  }
  return restoreContainer(ctx, {
    ...flags,
    id: String(args.containerId),
    bundle: stringFlag(args, 'bundle') ?? '.',
    consoleSocket: stringFlag(args, 'consoleSocket'),
    detach: args.detach === true,
    pidFile: stringFlag(args, 'pidFile'),
    noSubreaper: args.noSubreaper === true,
  });
}
