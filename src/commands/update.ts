// `tsrun update [--resources FILE|-] [runc's flags] ID`: changes the resources of a live
// container's cgroup. With --resources the LinuxResources JSON comes from the file (or stdin
// for "-") and the other flags are ignored, as with runc. Zero means "unchanged".
import { readFileSync } from 'node:fs';
import type { CommandArgs, CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { containerStatus } from '../state/status';
import { requireCgroup } from '../runtime/cgroup';
import { mergeResources, payloadFromFlags, updateDelta, type UpdateFlags } from '../cgroups/update';

const str = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : String(v));

export default async function update(ctx: CommandContext, args: CommandArgs): Promise<void> {
  const id = String(args.containerId);
  if (str(args.l3CacheSchema) || str(args.memBwSchema)) throw new CommandError('Intel RDT is not supported');
  let payload: unknown;
  const source = str(args.resources);
  if (source !== undefined) {
    let text: string;
    try {
      text = readFileSync(source === '-' ? 0 : source, 'utf8');
    } catch (err) {
      throw new CommandError(`${source}: ${(err as Error).message}`);
    }
    try {
      payload = JSON.parse(text);
    } catch (err) {
      throw new CommandError(`${source === '-' ? 'stdin' : source}: invalid JSON: ${(err as Error).message}`);
    }
  } else {
    const flags: UpdateFlags = {
      blkioWeight: str(args.blkioWeight),
      cpuPeriod: str(args.cpuPeriod),
      cpuQuota: str(args.cpuQuota),
      cpuShare: str(args.cpuShare),
      cpuRtPeriod: str(args.cpuRtPeriod),
      cpuRtRuntime: str(args.cpuRtRuntime),
      cpusetCpus: str(args.cpusetCpus),
      cpusetMems: str(args.cpusetMems),
      kernelMemory: str(args.kernelMemory),
      kernelMemoryTcp: str(args.kernelMemoryTcp),
      memory: str(args.memory),
      memoryReservation: str(args.memoryReservation),
      memorySwap: str(args.memorySwap),
      pidsLimit: str(args.pidsLimit),
    };
    payload = payloadFromFlags(flags);
  }
  const delta = updateDelta(payload, (m) => ctx.logger.warn(m));

  await ctx.store.withLock(id, async () => {
    const record = ctx.store.read(id);
    if (containerStatus(record, ctx.store.dir(id)) === 'stopped') throw new CommandError('container not running');
    const cgroup = requireCgroup(ctx, record);
    const merged = mergeResources(record.cgroup?.resources, delta);
    // systemd first (it would otherwise write its own older values over the files later).
    await cgroup.service?.update({ resources: delta });
    cgroup.update({ resources: delta }, merged);
    ctx.store.write({ ...record, cgroup: cgroup.record() });
  });
}
