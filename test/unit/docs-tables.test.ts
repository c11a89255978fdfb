import { readdirSync, readFileSync } from 'node:fs';
import { variables } from '../../src/config/variables.js';
import { commandTableRows } from '../../src/cli/args.js';
import { REASONS, REASON_CODES } from '../../src/core/reasons.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { backoffMs } from '../../src/worker/backoff.js';
import { ATTRIBUTE_TYPES } from '../../src/aws/dynamodb-items.js';
import { RECORD_STATUSES } from '../../src/core/idempotency-store.js';
import { SCENARIOS } from '../../chaos/scenarios.js';
import { FAULT_SCENARIOS } from '../../chaos/fault-scenarios.js';

interface Table {
  readonly header: string[];
  readonly rows: string[][];
}

/** scripts/doc-tables.mjs is plain JavaScript, shared with the script that writes the tables. */
const renderPath = '../../scripts/doc-tables.mjs';
const render = (await import(renderPath)) as {
  TABLE_PAGES: Record<string, string>;
  configTable(v: typeof variables): Table;
  commandTable(rows: ReturnType<typeof commandTableRows>): Table;
  reasonTable(reasons: typeof REASONS, codes: typeof REASON_CODES): Table;
  metricTable(
    metrics: { name: string; type: string; help: string }[],
    labelsOf: (name: string) => string[],
  ): Table;
  layerTable(layers: unknown, banned: unknown): Table;
  readTable(page: string, name: string): Table | undefined;
};
const lintConfig = '../../eslint.config.js';
const lint = (await import(lintConfig)) as { LAYERS: unknown; BANNED_PACKAGES: unknown };

/** What the page holds between the table's markers, next to what the code makes. */
function compare(name: string, expected: Table): { page: Table | undefined; code: Table } {
  const path = render.TABLE_PAGES[name] as string;
  return { page: render.readTable(readFileSync(path, 'utf8'), name), code: expected };
}

async function metricsTable(): Promise<Table> {
  const { registry } = createMetrics('0.0.0');
  const metrics = await registry.getMetricsAsJSON();
  const labelsOf = (name: string): string[] => {
    const metric = registry.getSingleMetric(name) as unknown as { labelNames?: string[] } | undefined;
    return metric?.labelNames ?? [];
  };
  return render.metricTable(metrics as unknown as { name: string; type: string; help: string }[], labelsOf);
}

// Each: the table the code makes, row for row. On a difference run `npm run docs:tables`.
describe('docs tables are the code, row for row (npm run docs:tables)', () => {
  it('configuration variables: src/config/schema.ts -> docs/configuration.md', () => {
    const { page, code } = compare('config-table', render.configTable(variables));
    expect(page).toEqual(code);
  });

  it('commands: src/cli/spec.ts -> docs/operations.md', () => {
    const { page, code } = compare('command-table', render.commandTable(commandTableRows()));
    expect(page).toEqual(code);
  });

  it('reason codes: src/core/reasons.ts -> docs/architecture.md', () => {
    const { page, code } = compare('reasons', render.reasonTable(REASONS, REASON_CODES));
    expect(page).toEqual(code);
  });

  it('metrics: the registry of src/observability/metrics.ts -> docs/operations.md', async () => {
    const { page, code } = compare('metrics', await metricsTable());
    expect(code.rows.length).toBeGreaterThan(10);
    expect(page).toEqual(code);
  });

  it('layers: eslint.config.js (LAYERS, BANNED_PACKAGES) -> docs/architecture.md', () => {
    const { page, code } = compare('layers', render.layerTable(lint.LAYERS, lint.BANNED_PACKAGES));
    expect(page).toEqual(code);
  });
});

describe('tables checked against the code', () => {
  it('chaos scenarios: docs/reliability.md names every scenario of chaos/, in the order they run', () => {
    const table = render.readTable(readFileSync('docs/reliability.md', 'utf8'), 'chaos-scenarios');
    const names = [...SCENARIOS, ...FAULT_SCENARIOS].map(({ name }) => `\`${name}\``);
    expect(table?.rows.map(([name]) => name)).toEqual(names);
  });

  it('the idempotency record: docs/architecture.md lists every attribute the store writes, and every status', () => {
    const table = render.readTable(readFileSync('docs/architecture.md', 'utf8'), 'record-attributes');
    const names = (table?.rows ?? []).flatMap(([cell = '']) =>
      [...cell.matchAll(/`(\w+)`/g)].map((m) => m[1]),
    );
    expect(names.sort()).toEqual(['pk', ...Object.keys(ATTRIBUTE_TYPES)].sort());
    const statusRow = table?.rows.find(([name]) => name === '`status`');
    expect(statusRow?.[1]).toBe(RECORD_STATUSES.map((s) => `\`${s}\``).join(', '));
  });
});

describe('the backoff as the docs word it', () => {
  it('is equal jitter (half fixed, half random), as RETRY_BACKOFF_BASE says', () => {
    const base = variables.find((v) => v.name === 'RETRY_BACKOFF_BASE');
    expect(base?.description).toMatch(/equal jitter/);
    expect(base?.description).not.toMatch(/full jitter/);
    // receive 3: ceiling 4 s; random 0 -> the fixed half, random ~1 -> the whole ceiling.
    expect(backoffMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(backoffMs(3, 1000, 60_000, () => 0.999_999)).toBe(4000);
  });
});

describe('the layout block of docs/architecture.md', () => {
  /** The names the block lists under `src/` (folders and root files), in its order. */
  function listed(): string[] {
    const page = readFileSync('docs/architecture.md', 'utf8');
    const block = page.slice(
      page.indexOf('```\nsrc/\n') + 4,
      page.indexOf('\n```', page.indexOf('```\nsrc/\n') + 4),
    );
    const under = block.slice(0, block.search(/\n\S/));
    return [...under.matchAll(/^ {2}(\S+)/gm)].map((m) => (m[1] as string).replace(/\/$/, ''));
  }

  it('names every folder and root file of src/, and nothing that is not there', () => {
    const actual = readdirSync('src').sort();
    expect([...listed()].sort()).toEqual(actual);
  });
});
