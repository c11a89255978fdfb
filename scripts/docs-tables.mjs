// Writes the tables of docs/ that restate the code (config variables, commands, reason codes,
// metrics, layers) from the built code: `npm run docs:tables` builds first, then runs this, then
// Prettier on the pages it changed. test/unit/docs-tables.test.ts fails while a page differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { LAYERS, BANNED_PACKAGES } from '../eslint.config.js';
import { variables } from '../dist/config/variables.js';
import { commandTableRows } from '../dist/cli/args.js';
import { REASONS, REASON_CODES } from '../dist/core/reasons.js';
import { createMetrics } from '../dist/observability/metrics.js';
import {
  TABLE_PAGES,
  commandTable,
  configTable,
  layerTable,
  metricTable,
  readTable,
  reasonTable,
  replaceTable,
} from './doc-tables.mjs';

const { registry } = createMetrics('0.0.0');
const metrics = await registry.getMetricsAsJSON();
const tables = {
  'config-table': configTable(variables),
  'command-table': commandTable(commandTableRows()),
  metrics: metricTable(metrics, (name) => registry.getSingleMetric(name)?.labelNames ?? []),
  reasons: reasonTable(REASONS, REASON_CODES),
  layers: layerTable(LAYERS, BANNED_PACKAGES),
};

const changed = new Set();
for (const [name, table] of Object.entries(tables)) {
  const path = TABLE_PAGES[name];
  const before = readFileSync(path, 'utf8');
  if (JSON.stringify(readTable(before, name)) === JSON.stringify(table)) continue;
  writeFileSync(path, replaceTable(before, name, table));
  changed.add(path);
}
if (changed.size > 0) {
  const prettier = spawnSync('node_modules/.bin/prettier', ['--write', ...changed], { stdio: 'inherit' });
  if (prettier.status !== 0) process.exit(prettier.status ?? 1);
}
console.log(changed.size > 0 ? `docs tables written: ${[...changed].join(', ')}` : 'docs tables unchanged');
