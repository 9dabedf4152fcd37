// The options `create` and `run` share, read from parsed arguments.
import type { CommandArgs } from '../cli/context';
import { CommandError } from '../cli/context';
import type { CreateOptions } from '../runtime/create';

export function createOptions(args: CommandArgs): CreateOptions {
  const preserve = String(args.preserveFds ?? '0');
  if (!/^\d+$/.test(preserve)) throw new CommandError(`invalid --preserve-fds value: ${preserve}`);
  return {
    id: String(args.containerId),
    bundle: typeof args.bundle === 'string' && args.bundle !== '' ? args.bundle : '.',
    pidFile: typeof args.pidFile === 'string' && args.pidFile !== '' ? args.pidFile : undefined,
    preserveFds: Number(preserve),
    noPivot: args.noPivot === true,
    noNewKeyring: args.noNewKeyring === true,
    consoleSocket: typeof args.consoleSocket === 'string' && args.consoleSocket !== '' ? args.consoleSocket : undefined,
  };
}
