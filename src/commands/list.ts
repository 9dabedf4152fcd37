// `tsrun list`: every container under --root, as a table, JSON or bare ids.
import { statSync } from 'node:fs';
import type { CommandArgs, CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { containerStatus, stateView, type StateView } from '../state/status';
import { formatTable } from './table';
import { userName } from '../state/owner';
import { writeStdout } from '../cli/stdio';

export default function list(ctx: CommandContext, args: CommandArgs): void {
  const views: StateView[] = [];
  for (const id of ctx.store.ids()) {
    let record;
    try {
      record = ctx.store.read(id);
    } catch {
      continue; // removed while listing
    }
    const dir = ctx.store.dir(id);
    const view = stateView(record, containerStatus(record, dir));
    view.owner = ownerOf(dir);
    views.push(view);
  }
  if (args.quiet) {
    for (const v of views) writeStdout(v.id + '\n');
    return;
  }
  if (args.format === 'json') {
    // runc prints `null` for no containers; clients decode both.
    writeStdout((views.length === 0 ? 'null' : JSON.stringify(views)) + '\n');
    return;
  }
  if (args.format !== 'table') throw new CommandError(`invalid format option ${String(args.format)}`);
  const rows = views.map((v) => [v.id, String(v.pid), v.status, v.bundle, v.created, v.owner]);
  writeStdout(formatTable(['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], rows));
}

function ownerOf(dir: string): string {
  try {
    return userName(statSync(dir).uid);
  } catch {
    return '';
  }
}
