// `tsrun features`: the JSON document of OCI runtime features, as runc prints it.
import type { CommandContext } from '../cli/context';
import { features } from '../runtime/features';

export default function featuresCommand(_ctx: CommandContext): void {
  process.stdout.write(JSON.stringify(features(), null, 4) + '\n');
}
