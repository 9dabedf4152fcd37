// `tsrun checkpoint [options] ID`: criu dumps the running container (see runtime/checkpoint.ts).
import type { CommandArgs, CommandContext } from '../cli/context';
import { checkpointContainer } from '../runtime/checkpoint';
import { criuFlags, stringFlag } from './criu-flags';

export default async function checkpoint(ctx: CommandContext, args: CommandArgs): Promise<void> {
  await checkpointContainer(ctx, {
    ...criuFlags(args),
    id: String(args.containerId),
    parentPath: stringFlag(args, 'parentPath'),
    leaveRunning: args.leaveRunning === true,
    preDump: args.preDump === true,
  });
}
