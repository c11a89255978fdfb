import { readFileSync } from 'node:fs';
import { REASONS, REASON_CODES } from '../../src/core/reasons.js';

/** Rows of the README table between the reasons markers: | `CODE` | meaning | then | */
function readmeRows(): [string, string, string][] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('<!-- reasons:start -->');
  const end = readme.indexOf('<!-- reasons:end -->');
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const rows: [string, string, string][] = [];
  for (const line of readme.slice(start, end).split('\n')) {
    const match = /^\|\s*`([A-Z_]+)`\s*\|\s*(.*?)\s*\|\s*(.*?)\s*\|$/.exec(line);
    if (match) rows.push([match[1] as string, match[2] as string, match[3] as string]);
  }
  return rows;
}

describe('README reason codes', () => {
  it('lists every code of src/core/reasons.ts in order, as the catalogue words it', () => {
    const expected = REASON_CODES.map((code) => [code, REASONS[code].message, REASONS[code].then]);
    expect(readmeRows()).toEqual(expected);
  });
});
