// `tsrun exec [options] ID [COMMAND [ARG...]]`
import type { CommandArgs, CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { execInContainer } from '../runtime/exec';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

export default async function exec(ctx: CommandContext, args: CommandArgs): Promise<number> {
  const preserve = String(args.preserveFds ?? '0');
  if (!/^\d+$/.test(preserve)) throw new CommandError(`invalid --preserve-fds value: ${preserve}`);
  const gids = strings(args.additionalGids).flatMap((g) => g.split(','));
  if (gids.some((g) => !/^\d+$/.test(g))) throw new CommandError(`invalid --additional-gids: ${gids.join(',')}`);
  return execInContainer(ctx, {
    id: String(args.containerId),
    processFile: typeof args.process === 'string' ? args.process : undefined,
    args: strings(args['--']),
    env: strings(args.env),
    cwd: typeof args.cwd === 'string' ? args.cwd : undefined,
    user: typeof args.user === 'string' ? args.user : undefined,
    additionalGids: gids.map(Number),
    caps: strings(args.cap),
    noNewPrivs: args.noNewPrivs === true,
    detach: args.detach === true,
    pidFile: typeof args.pidFile === 'string' && args.pidFile !== '' ? args.pidFile : undefined,
    preserveFds: Number(preserve),
    tty: args.tty === true,
    consoleSocket: typeof args.consoleSocket === 'string' && args.consoleSocket !== '' ? args.consoleSocket : undefined,
  });
}
