// `tsrun kill [--all] ID [SIGNAL]`: SIGNAL by name or number, SIGTERM by default.
import type { CommandArgs, CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { parseSignal } from '../linux/constants';
import { killContainer } from '../runtime/lifecycle';

export default function kill(ctx: CommandContext, args: CommandArgs): void {
  const text = typeof args.signal === 'string' ? args.signal : 'SIGTERM';
  const signal = parseSignal(text);
  if (signal === undefined) throw new CommandError(`invalid signal "${text}"`);
  killContainer(ctx, String(args.containerId), signal, args.all === true);
}
