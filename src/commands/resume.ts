// `tsrun resume ID`: thaws a paused container.
import type { CommandArgs, CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { containerStatus } from '../state/status';
import { requireCgroup } from '../runtime/cgroup';

export default async function resume(ctx: CommandContext, args: CommandArgs): Promise<void> {
  const id = String(args.containerId);
  await ctx.store.withLock(id, () => {
    const record = ctx.store.read(id);
    if (containerStatus(record, ctx.store.dir(id)) !== 'paused') throw new CommandError('container not paused');
    requireCgroup(ctx, record).thaw();
  });
}
