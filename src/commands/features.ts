// `tsrun features`: the JSON document of OCI runtime features, as runc prints it.
import type { CommandContext } from '../cli/context';
import { features } from '../runtime/features';
import { writeStdout } from '../cli/stdio';

export default function featuresCommand(_ctx: CommandContext): void {
  writeStdout(JSON.stringify(features(), null, 4) + '\n');
}
