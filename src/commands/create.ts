// `tsrun create [options] ID`
import type { CommandArgs, CommandContext } from '../cli/context';
import { createContainer } from '../runtime/create';
import { createOptions } from './create-options';

export default async function create(ctx: CommandContext, args: CommandArgs): Promise<void> {
  await createContainer(ctx, createOptions(args));
}
