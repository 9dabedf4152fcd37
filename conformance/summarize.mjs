#!/usr/bin/env node
// Turn the summary.txt files written by conformance/run.sh into one Markdown table,
// one column per results directory:
//
//   node conformance/summarize.mjs /tmp/tsrun-conformance-runc /tmp/tsrun-conformance-tsrun
//
// A column is named after its directory (the part after "tsrun-conformance-"), or
// NAME=DIR names it explicitly. Each cell reads `PASS 4/4`, `FAIL 2/3`, `TIMEOUT 0/0`;
// a program missing from a directory's summary shows as "—".
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: summarize.mjs [NAME=]RESULTS_DIR...');
  process.exit(2);
}

const LINE = /^(\S+)\s+(\d+)\/(\d+)\s+(PASS|FAIL|TIMEOUT)\s+([\d.]+)s(?:\s+\((.*)\))?\s*$/;
const columns = args.map((arg) => {
  const eq = arg.indexOf('=');
  const dir = eq > 0 ? arg.slice(eq + 1) : arg;
  const name = eq > 0 ? arg.slice(0, eq) : basename(dir).replace(/^tsrun-conformance-/, '');
  const rows = new Map();
  let text = '';
  try {
    text = readFileSync(join(dir, 'summary.txt'), 'utf8');
  } catch (err) {
    console.error(`summarize.mjs: cannot read ${join(dir, 'summary.txt')}: ${err.message}`);
    process.exit(1);
  }
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m) rows.set(m[1], { passed: +m[2], total: +m[3], status: m[4], note: m[6] ?? '' });
  }
  return { name, rows };
});

const names = [...new Set(columns.flatMap((c) => [...c.rows.keys()]))].sort();
const out = [];
out.push(`| test program | ${columns.map((c) => c.name).join(' | ')} |`);
out.push(`| --- | ${columns.map(() => '---').join(' | ')} |`);
for (const n of names) {
  const cells = columns.map((c) => {
    const r = c.rows.get(n);
    return r ? `${r.status} ${r.passed}/${r.total}` : '—';
  });
  out.push(`| ${n} | ${cells.join(' | ')} |`);
}
out.push('');
for (const c of columns) {
  const all = [...c.rows.values()];
  const pass = all.filter((r) => r.status === 'PASS').length;
  out.push(`${c.name}: ${pass} of ${all.length} programs pass`);
}
console.log(out.join('\n'));
