// Prints the README's command table from the command specs (run after `npm run build`), aligned
// as prettier aligns a markdown table, to paste between the command-table markers.
import { commandTableRows } from '../dist/cli/args.js';

const rows = [
  ['command', 'what', 'example'],
  ...commandTableRows().map((r) => [r.command, r.what, r.example]),
];
const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(rows[0]));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows.slice(1)) console.log(line(row));
