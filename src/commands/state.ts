// `tsrun state ID`: the OCI state of one container, as runc prints it.
import type { CommandArgs, CommandContext } from '../cli/context';
import { containerStatus, stateView } from '../state/status';
import { writeStdout } from '../cli/stdio';

export default function state(ctx: CommandContext, args: CommandArgs): void {
  const id = String(args.containerId);
  const record = ctx.store.read(id);
  const view = stateView(record, containerStatus(record, ctx.store.dir(id)));
  writeStdout(JSON.stringify(view, null, 2) + '\n');
}
