// `tsrun run [options] ID`: create + start; in the foreground it waits and exits with the
// container's status.
import type { CommandArgs, CommandContext } from '../cli/context';
import { runContainer } from '../runtime/run';
import { createOptions } from './create-options';

export default async function run(ctx: CommandContext, args: CommandArgs): Promise<number> {
  return runContainer(ctx, { ...createOptions(args), detach: args.detach === true, keep: args.keep === true });
}
