import { readFileSync } from 'node:fs';
import { variables } from '../../src/config/schema.js';

/** Rows of the README table between the config-table markers: | `NAME` | default | meaning | */
function readmeRows(): Map<string, string> {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('<!-- config-table:start -->');
  const end = readme.indexOf('<!-- config-table:end -->');
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const rows = new Map<string, string>();
  for (const line of readme.slice(start, end).split('\n')) {
    const match = /^\|\s*`([A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|/.exec(line);
    if (match) rows.set(match[1] as string, match[2] as string);
  }
  return rows;
}

describe('README configuration table', () => {
  it('lists exactly the variables of the schema', () => {
    expect([...readmeRows().keys()].sort()).toEqual(Object.keys(variables).sort());
  });

  it('shows each default as the schema has it', () => {
    const rows = readmeRows();
    for (const [name, spec] of Object.entries(variables)) {
      const expected = 'default' in spec ? `\`${spec.default}\`` : '(unset)';
      expect(`${name}: ${rows.get(name)}`).toBe(`${name}: ${expected}`);
    }
  });
});
