// `tsrun delete [--force] ID`: with --force an unknown id is not an error (clients call it
// after every container).
import type { CommandArgs, CommandContext } from '../cli/context';
import { deleteContainer } from '../runtime/lifecycle';

export default async function del(ctx: CommandContext, args: CommandArgs): Promise<void> {
  await deleteContainer(ctx, String(args.containerId), args.force === true);
}
