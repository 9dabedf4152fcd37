// The flags `checkpoint` and `restore` share, read from parsed arguments. runc's flags that
// tsrun does not implement are refused with the reason, never accepted and ignored.
import { join } from 'node:path';
import type { CommandArgs } from '../cli/context';
import { CommandError } from '../cli/context';
import type { CriuFlags } from '../runtime/checkpoint';

const REFUSED: Record<string, { flag: string; why: string }> = {
  lazyPages: { flag: '--lazy-pages', why: 'lazy migration (criu lazy-pages and its page server) is not supported by tsrun' },
  pageServer: { flag: '--page-server', why: 'dumping to a remote criu page server is not supported by tsrun' },
  statusFd: { flag: '--status-fd', why: 'it reports lazy-pages readiness, and --lazy-pages is not supported by tsrun' },
  lsmProfile: { flag: '--lsm-profile', why: 'restoring with another LSM profile is not supported by tsrun' },
  lsmMountContext: { flag: '--lsm-mount-context', why: 'restoring with another SELinux mount context is not supported by tsrun' },
};

export function refuseUnsupported(args: CommandArgs): void {
  for (const [key, { flag, why }] of Object.entries(REFUSED)) {
    const v = args[key];
    // Their "off" values are accepted: --lazy-pages=false, runc's --status-fd default -1.
    if (v === undefined || v === false || (key === 'statusFd' && v === '-1')) continue;
    throw new CommandError(`${flag}: ${why}`);
  }
}

export function stringFlag(args: CommandArgs, key: string): string | undefined {
  const v = args[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function criuFlags(args: CommandArgs): CriuFlags {
  refuseUnsupported(args);
  const emptyNs = args.emptyNs;
  return {
    // runc's default: ./checkpoint
    imagePath: stringFlag(args, 'imagePath') ?? join(process.cwd(), 'checkpoint'),
    workPath: stringFlag(args, 'workPath'),
    tcpEstablished: args.tcpEstablished === true,
    extUnixSk: args.extUnixSk === true,
    shellJob: args.shellJob === true,
    fileLocks: args.fileLocks === true,
    autoDedup: args.autoDedup === true,
    manageCgroupsMode: stringFlag(args, 'manageCgroupsMode'),
    emptyNs: Array.isArray(emptyNs) ? emptyNs.map(String) : typeof emptyNs === 'string' ? [emptyNs] : [],
  };
}
