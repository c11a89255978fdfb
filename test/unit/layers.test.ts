import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ESLint } from 'eslint';
import ts from 'typescript';

/**
 * The layers of src/, checked on the import graph itself: a lint line someone disabled, a dynamic
 * import() or a re-export still fails here. The folders' table is eslint.config.js's own LAYERS
 * (one definition), and the last tests check that its lint rules reject exactly what it rejects.
 */
const FOLDERS = [
  'core',
  'config',
  'aws',
  'observability',
  'seeding',
  'worker',
  'handlers',
  'http',
  'app',
  'testing',
  'cli',
];
const ROOT_FILES = ['main', 'index'];
const LAYERS = [...FOLDERS, ...ROOT_FILES];

/** eslint.config.js is plain JavaScript: imported by path, typed here. */
const lintConfig = '../../eslint.config.js';
const { LAYERS: LINT_LAYERS } = (await import(lintConfig)) as {
  LAYERS: Readonly<Record<string, readonly string[]>>;
};

const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  ...LINT_LAYERS,
  cli: LAYERS.filter((l) => !['cli', 'main', 'index'].includes(l)),
  app: FOLDERS.filter((l) => !['app', 'cli'].includes(l)),
  // Entry points (no lint rule: nothing imports them): the process entry may use anything but
  // the library entry, and the library entry anything but the command line.
  main: LAYERS.filter((l) => !['main', 'index'].includes(l)),
  index: LAYERS.filter((l) => !['index', 'main', 'cli'].includes(l)),
};

/** Packages a layer must not import (prefix match; `@aws-sdk/` covers every client). */
const BANNED_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  core: ['@aws-sdk/', 'fastify', 'pino', 'sqs-consumer', 'sqs-producer', 'prom-client', '@opentelemetry/'],
  worker: ['@aws-sdk/', 'sqs-consumer', 'sqs-producer', '@opentelemetry/'],
};

/** One import: `from` and `to` are layers, or `to` is a package name. */
interface Edge {
  readonly file: string;
  readonly specifier: string;
  readonly from: string;
  /** The layer imported, or undefined for a package. */
  readonly to: string | undefined;
}

const SRC = resolve('src');

/** The layer of a path relative to src/: its top folder, or the root file's name. */
function layerOf(relativePath: string): string {
  const [top = '', ...rest] = relativePath.split('/');
  return rest.length > 0 ? top : top.replace(/\.[jt]s$/, '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every import, export-from and literal import() of every src/**\/*.ts, as layer edges. */
function importGraph(): Edge[] {
  return sourceFiles(SRC).flatMap((path) => {
    const file = relative(SRC, path);
    const { importedFiles } = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
    return importedFiles.map(({ fileName: specifier }): Edge => {
      const from = layerOf(file);
      if (!specifier.startsWith('.')) return { file, specifier, from, to: undefined };
      const target = relative(SRC, resolve(dirname(path), specifier));
      return { file, specifier, from, to: target.startsWith('..') ? 'outside src/' : layerOf(target) };
    });
  });
}

/** The edges the layer table forbids, each described as `file: from -> to (specifier)`. */
function violations(edges: readonly Edge[]): string[] {
  return edges
    .filter(({ from, to, specifier }) => {
      if (to === undefined) {
        return (BANNED_PACKAGES[from] ?? []).some((p) => specifier === p || specifier.startsWith(p));
      }
      return to !== from && !(ALLOWED[from] ?? []).includes(to);
    })
    .map(({ file, from, to, specifier }) => `${file}: ${from} -> ${to ?? specifier} (${specifier})`);
}

/** Cycles of the folder-level graph (between different layers), each as `a -> b -> a`. */
function cycles(edges: readonly Edge[]): string[] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (to === undefined || to === from) continue;
    next.set(from, (next.get(from) ?? new Set()).add(to));
  }
  const found: string[] = [];
  const done = new Set<string>();
  const visit = (layer: string, path: string[]): void => {
    const at = path.indexOf(layer);
    if (at >= 0) {
      found.push([...path.slice(at), layer].join(' -> '));
      return;
    }
    if (done.has(layer)) return;
    for (const to of next.get(layer) ?? []) visit(to, [...path, layer]);
    done.add(layer);
  };
  for (const layer of next.keys()) visit(layer, []);
  return found;
}

const edge = (from: string, to: string | undefined, specifier = `../${to}/x.js`): Edge => ({
  file: `${from}/x.ts`,
  specifier,
  from,
  to,
});

describe('layers of src/', () => {
  const graph = importGraph();

  it('reads the imports of every folder', () => {
    expect(new Set(graph.map((e) => e.from))).toEqual(new Set(LAYERS));
    expect(graph.some((e) => e.from === 'http' && e.to === 'core')).toBe(true);
  });

  it('has only the allowed edges between folders, and no banned packages', () => {
    expect(violations(graph)).toEqual([]);
  });

  it('has no cycles between folders', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('cli/ imports the composition root (app/app.ts) only for start; its commands share app/parts.ts', () => {
    const intoApp = graph.filter((e) => e.from === 'cli' && e.to === 'app');
    expect(intoApp.filter((e) => !e.specifier.endsWith('/parts.js')).map((e) => e.file)).toEqual([
      'cli/run.ts',
    ]);
  });

  it('table itself is a DAG', () => {
    const all = Object.entries(ALLOWED).flatMap(([from, tos]) => tos.map((to) => edge(from, to)));
    expect(cycles(all)).toEqual([]);
  });
});

describe('the layer checker rejects what it should', () => {
  const forbidden = LAYERS.flatMap((from) =>
    LAYERS.filter((to) => to !== from && !(ALLOWED[from] ?? []).includes(to)).map((to) => [from, to]),
  );

  it.each(forbidden)('%s -> %s', (from, to) => {
    expect(violations([edge(from, to)])).toEqual([`${from}/x.ts: ${from} -> ${to} (../${to}/x.js)`]);
  });

  it('accepts every allowed edge and imports within a folder', () => {
    const allowed = Object.entries(ALLOWED).flatMap(([from, tos]) => tos.map((to) => edge(from, to)));
    expect(violations([...allowed, ...LAYERS.map((l) => edge(l, l, './y.js'))])).toEqual([]);
  });

  it('rejects an import from outside src/', () => {
    expect(violations([edge('core', 'outside src/', '../../package.json')])).toHaveLength(1);
  });

  it.each([
    ['core', '@aws-sdk/client-dynamodb'],
    ['core', 'fastify'],
    ['core', 'prom-client'],
    ['worker', '@aws-sdk/client-sqs'],
    ['worker', 'sqs-consumer'],
  ])('rejects %s importing the package %s', (from, specifier) => {
    expect(violations([edge(from, undefined, specifier)])).toHaveLength(1);
    expect(violations([edge('aws', undefined, specifier)])).toEqual([]);
  });

  it('finds a cycle', () => {
    expect(cycles([edge('aws', 'core'), edge('core', 'config'), edge('config', 'aws')])).toEqual([
      'aws -> core -> config -> aws',
    ]);
  });
});

describe('eslint.config.js encodes the same layers', () => {
  const eslint = new ESLint();

  /** The layer rule's messages for one import written in a file of `from`. */
  async function lintImport(from: string, to: string): Promise<string[]> {
    const filePath = FOLDERS.includes(from) ? `src/${from}/probe.ts` : `src/${from}.ts`;
    const up = FOLDERS.includes(from) ? '../' : './';
    const specifier = FOLDERS.includes(to) ? `${up}${to}/probe.js` : `${up}${to}.js`;
    const [result] = await eslint.lintText(`export { probe } from '${specifier}';\n`, { filePath });
    return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  }

  // One test per importing layer, so that lint's start-up and a loaded machine stay well inside
  // jest's timeout.
  it.each(LAYERS.filter((l) => !['main', 'index'].includes(l)))(
    'rejects exactly the forbidden imports from %s, with a message that states the rule',
    async (from) => {
      for (const to of LAYERS.filter((l) => l !== from)) {
        const messages = await lintImport(from, to);
        const allowed = (ALLOWED[from] ?? []).includes(to);
        const stated = messages.filter((m) => m.includes(`Layers: ${from}`));
        expect({ from, to, messages: messages.length, stated: stated.length }).toEqual({
          from,
          to,
          messages: allowed ? 0 : 1,
          stated: allowed ? 0 : 1,
        });
      }
    },
  );

  it('rejects the banned packages', async () => {
    for (const [from, packages] of Object.entries(BANNED_PACKAGES)) {
      for (const name of packages) {
        const specifier = name.endsWith('/') ? `${name}client-sqs` : name;
        const [result] = await eslint.lintText(`export { probe } from '${specifier}';\n`, {
          filePath: `src/${from}/probe.ts`,
        });
        const rules = (result?.messages ?? []).map((m) => m.ruleId);
        expect({ from, specifier, rules }).toEqual({ from, specifier, rules: ['no-restricted-imports'] });
      }
    }
  });
});
