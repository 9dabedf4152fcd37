// Column layout of runc's tables: each column as wide as its widest cell plus 3 spaces,
// at least 12; the last column is not padded.
const MIN_WIDTH = 12;
const PADDING = 3;

export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(MIN_WIDTH, ...all.map((r) => (r[col] ?? '').length + PADDING)));
  return all
    .map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col] as number))).join(''))
    .join('\n') + '\n';
}
