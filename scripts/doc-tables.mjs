// The tables of docs/ that restate the code, made from the code. Pure functions of their inputs, so
// that scripts/docs-tables.mjs (on dist/) writes them and test/unit/docs-tables.test.ts (on src/)
// checks them with one definition. Each table sits between `<!-- name:start -->` and
// `<!-- name:end -->` in its page.

/** Where each generated table lives. */
export const TABLE_PAGES = {
  'config-table': 'docs/configuration.md',
  'command-table': 'docs/operations.md',
  metrics: 'docs/operations.md',
  reasons: 'docs/architecture.md',
  layers: 'docs/architecture.md',
};

const code = (text) => `\`${text}\``;
const escape = (text) => String(text).replace(/\|/g, '\\|');

/** Configuration variables (src/config/variables.ts): name, default, description and rule. */
export function configTable(variables) {
  return {
    header: ['variable', 'default', 'meaning'],
    rows: variables.map(({ name, default: value, description, rule }) => [
      code(name),
      value === undefined ? '(unset)' : code(value),
      `${description} Rule: ${rule}.`,
    ]),
  };
}

/** Commands (commandTableRows() of src/cli/args.ts). */
export function commandTable(rows) {
  return { header: ['command', 'what', 'example'], rows: rows.map((r) => [r.command, r.what, r.example]) };
}

/** Reason codes (src/core/reasons.ts), in the catalogue's order. */
export function reasonTable(reasons, codes) {
  return {
    header: ['code', 'meaning', 'what happens to the message'],
    rows: codes.map((c) => [code(c), reasons[c].message, reasons[c].then]),
  };
}

/** The worker's own metrics: `metrics` is prom-client's getMetricsAsJSON() of the app's registry. */
export function metricTable(metrics, labelNamesOf) {
  const own = metrics.filter(({ name }) => name.startsWith('sqs_worker_'));
  return {
    header: ['metric', 'type', 'labels', 'what'],
    rows: own.map(({ name, type, help }) => [
      code(name),
      type,
      labelNamesOf(name).map(code).join(', '),
      help,
    ]),
  };
}

/** The layers of src/: `layers` and `banned` as eslint.config.js exports them. */
export function layerTable(layers, banned) {
  const folders = Object.entries(layers).map(([folder, allowed]) => [
    code(`${folder}/`),
    allowed.length === 0 ? 'nothing outside itself' : allowed.map((a) => code(`${a}/`)).join(', '),
    (banned[folder] ?? []).map((p) => code(p)).join(', '),
  ]);
  return {
    header: ['folder', 'may import', 'never imports'],
    rows: [...folders, [`${code('cli/')}, ${code('app/')}`, 'all of the above', '']],
  };
}

/** A table as markdown (aligned as Prettier aligns it, near enough; run Prettier after writing). */
export function markdownTable({ header, rows }) {
  const all = [header, ...rows].map((row) => row.map(escape));
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(all[0]), line(header.map(() => '---')), ...all.slice(1).map(line)].join('\n');
}

/** The text between a table's markers, or undefined when a marker is missing. */
export function between(page, name) {
  const start = page.indexOf(`<!-- ${name}:start -->`);
  const end = page.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) return undefined;
  return { from: start + `<!-- ${name}:start -->`.length, to: end };
}

/** `page` with the table `name` replaced by `table`. */
export function replaceTable(page, name, table) {
  const span = between(page, name);
  if (span === undefined) throw new Error(`no <!-- ${name}:start/end --> markers`);
  return `${page.slice(0, span.from)}\n\n${markdownTable(table)}\n\n${page.slice(span.to)}`;
}

/** One markdown table row's cells, trimmed and unescaped. */
function cells(line) {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

/** The table between a page's markers, as its header and rows of cells (separator dropped). */
export function readTable(page, name) {
  const span = between(page, name);
  if (span === undefined) return undefined;
  const lines = page
    .slice(span.from, span.to)
    .split('\n')
    .filter((l) => l.trim().startsWith('|'));
  const [header = '', , ...rows] = lines;
  return { header: cells(header), rows: rows.map(cells) };
}
