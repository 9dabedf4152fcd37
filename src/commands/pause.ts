// `tsrun pause ID`: freezes every process of the container (v1 freezer, v2 cgroup.freeze);
// `state` then says "paused". runc's rules: only a created or running container can be paused.
import type { CommandArgs, CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { containerStatus } from '../state/status';
import { requireCgroup } from '../runtime/cgroup';

export default async function pause(ctx: CommandContext, args: CommandArgs): Promise<void> {
  const id = String(args.containerId);
  await ctx.store.withLock(id, () => {
    const record = ctx.store.read(id);
    const status = containerStatus(record, ctx.store.dir(id));
    if (status !== 'running' && status !== 'created') throw new CommandError('container not running');
    requireCgroup(ctx, record).freeze();
  });
}
