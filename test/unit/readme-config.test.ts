import { readFileSync } from 'node:fs';
import { variables } from '../../src/config/variables.js';

/** Rows of the README table between the config-table markers: | `NAME` | default | meaning | */
function readmeRows(): Map<string, { readonly default: string; readonly meaning: string }> {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('<!-- config-table:start -->');
  const end = readme.indexOf('<!-- config-table:end -->');
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const rows = new Map<string, { default: string; meaning: string }>();
  for (const line of readme.slice(start, end).split('\n')) {
    const match = /^\|\s*`([A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|\s*(.*?)\s*\|$/.exec(line);
    if (match) rows.set(match[1] as string, { default: match[2] as string, meaning: match[3] as string });
  }
  return rows;
}

describe('README configuration table', () => {
  it('lists exactly the variables of the schema', () => {
    expect([...readmeRows().keys()].sort()).toEqual(variables.map(({ name }) => name).sort());
  });

  it('shows each default as the schema has it', () => {
    const rows = readmeRows();
    for (const { name, default: value } of variables) {
      const expected = value === undefined ? '(unset)' : `\`${value}\``;
      expect(`${name}: ${rows.get(name)?.default}`).toBe(`${name}: ${expected}`);
    }
  });

  it('shows each description and rule as the schema has it (npm run docs:config)', () => {
    const rows = readmeRows();
    for (const { name, description, rule } of variables) {
      expect(`${name}: ${rows.get(name)?.meaning}`).toBe(`${name}: ${description} Rule: ${rule}.`);
    }
  });
});
