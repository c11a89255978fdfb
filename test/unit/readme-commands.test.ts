import { readFileSync } from 'node:fs';
import { commandTableRows } from '../../src/cli/args.js';

/** Rows of the README table between the command-table markers: | command | what | example |. */
function readmeRows(): string[][] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('<!-- command-table:start -->');
  const end = readme.indexOf('<!-- command-table:end -->');
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return readme
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
}

describe('README command table', () => {
  it('is the table the command specs make, row for row (node scripts/command-table.mjs)', () => {
    expect(readmeRows()).toEqual(commandTableRows().map((r) => [r.command, r.what, r.example]));
  });
});
