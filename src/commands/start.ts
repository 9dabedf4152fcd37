// `tsrun start ID`: runs the user process of a created container; prints nothing on success.
import type { CommandArgs, CommandContext } from '../cli/context';
import { startContainer } from '../runtime/lifecycle';

export default async function start(ctx: CommandContext, args: CommandArgs): Promise<void> {
  await startContainer(ctx, String(args.containerId));
}
