// `tsrun events [--stats] [--interval 5s] ID`: the container's resource usage as runc prints
// it, one JSON object per line: {"type":"stats","id":ID,"data":{cpu,cpuset,memory,pids,blkio,
// hugetlb,...}}. With --stats one record and exit; otherwise a record every interval and an
// {"type":"oom","id":ID} record whenever the kernel OOM-kills a process of the container,
// until the container's cgroup is removed.
import type { CommandArgs, CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { containerStatus } from '../state/status';
import { requireCgroup } from '../runtime/cgroup';
import type { CgroupManager } from '../cgroups';

/** Go's time.ParseDuration for the units runc users write: "5s", "100ms", "1m30s", "2h". */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * units[m[2]!]!;
    consumed = m.index + m[0].length;
  }
  if (text === '' || consumed !== text.length) throw new CommandError(`invalid value "${text}" for flag -interval: parse error`);
  return total;
}

function statsEvent(id: string, cgroup: CgroupManager): object {
  const data = cgroup.stats();
  return { type: 'stats', id, data: { ...data, intel_rdt: {}, network_interfaces: null } };
}

const write = (event: object) => process.stdout.write(JSON.stringify(event) + '\n');

export default async function events(ctx: CommandContext, args: CommandArgs): Promise<void> {
  const id = String(args.containerId);
  const interval = parseDuration(String(args.interval ?? '5s'));
  if (interval <= 0) throw new CommandError('duration interval must be greater than 0');
  const record = ctx.store.read(id);
  if (containerStatus(record, ctx.store.dir(id)) === 'stopped') throw new CommandError(`container with id ${id} is not running`);
  const cgroup = requireCgroup(ctx, record);
  if (args.stats === true) {
    write(statsEvent(id, cgroup));
    return;
  }
  // Streaming: stats on every tick; the OOM-kill counter is polled more often so that an
  // OOM is reported promptly (runc uses an eventfd; the counter says the same thing).
  let lastOom = cgroup.oomKillCount() ?? 0;
  let nextStats = Date.now() + interval;
  const poll = Math.min(100, interval);
  for (;;) {
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(poll, nextStats - Date.now()))));
    if (!cgroup.exists()) return;
    const oom = cgroup.oomKillCount();
    if (oom !== null && oom > lastOom) {
      for (let i = lastOom; i < oom; i++) write({ type: 'oom', id });
      lastOom = oom;
    }
    if (Date.now() >= nextStats) {
      try {
        write(statsEvent(id, cgroup));
      } catch (err) {
        if (!cgroup.exists()) return;
        ctx.logger.error((err as Error).message);
      }
      nextStats += interval;
      if (nextStats < Date.now()) nextStats = Date.now() + interval;
    }
  }
}
