// Version strings; TSRUN_VERSION and TSRUN_COMMIT are replaced at bundle time.
declare const TSRUN_VERSION: string | undefined;
declare const TSRUN_COMMIT: string | undefined;

export const VERSION = typeof TSRUN_VERSION === 'string' ? TSRUN_VERSION : '0.0.0-dev';
export const COMMIT = typeof TSRUN_COMMIT === 'string' ? TSRUN_COMMIT : 'unknown';
export const SPEC_VERSION = '1.3.0';

/** The --version text, in the lines dockerd parses (`NAME version X`, `commit:`). */
export function versionText(): string {
  return `tsrun version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\nnode: ${process.version}\n`;
}
