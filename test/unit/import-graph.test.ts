import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * The import graph of src/ file by file (layers.test.ts checks it folder by folder): no file
 * reaches itself through its imports, type-only imports and literal import() included; the
 * in-memory twins (testing/) serve tests only; and core/ stays pure (no file, network or process
 * access: it gets those as interfaces).
 */
const SRC = resolve('src');

/** Node's built-in modules core/ may use: computation only, no I/O. */
const CORE_BUILTINS = new Set(['node:crypto']);

/** Packages core/ may use: computation only (validation of records). */
const CORE_PACKAGES = new Set(['zod']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every specifier a file imports, re-exports or import()s, types included. */
function specifiersOf(path: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
  return importedFiles.map((f) => f.fileName);
}

/** The .ts file a relative specifier names (`./x.js` is `./x.ts`), relative to src/. */
function resolveRelative(from: string, specifier: string): string {
  const target = resolve(dirname(from), specifier.replace(/\.js$/, '.ts'));
  const file = existsSync(target) ? target : join(target, 'index.ts');
  return relative(SRC, file);
}

/** File -> the src/ files it imports (relative to src/). */
function fileGraph(): Map<string, string[]> {
  return new Map(
    sourceFiles(SRC).map((path) => [
      relative(SRC, path),
      specifiersOf(path)
        .filter((s) => s.startsWith('.'))
        .map((s) => resolveRelative(path, s)),
    ]),
  );
}

/** Each cycle of the graph once, as `a -> b -> a`, found by a depth-first walk. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const found: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string): void => {
    const at = path.indexOf(node);
    if (at >= 0) {
      found.push([...path.slice(at), node].join(' -> '));
      return;
    }
    if (done.has(node)) return;
    path.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    path.pop();
    done.add(node);
  };
  for (const node of [...graph.keys()].sort()) visit(node);
  return found;
}

/** Whether core/ may not import this package or built-in (relative imports are layers.test.ts's). */
function impure(specifier: string): boolean {
  if (specifier.startsWith('.')) return false;
  return isBuiltin(specifier) ? !CORE_BUILTINS.has(specifier) : !CORE_PACKAGES.has(specifier);
}

describe('the import graph of src/', () => {
  const graph = fileGraph();

  it('reads every file and resolves every relative import to a file of src/', () => {
    expect(graph.size).toBeGreaterThan(100);
    const missing = [...graph.values()].flat().filter((file) => !graph.has(file));
    expect(missing).toEqual([]);
  });

  it('has no import circle between files, type-only imports included', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no production file that imports the testing twins (src/testing/ is only an entry point)', () => {
    const users = [...graph]
      .filter(([file]) => !file.startsWith('testing/'))
      .flatMap(([file, imports]) =>
        imports.filter((i) => i.startsWith('testing/')).map((i) => `${file}: ${i}`),
      );
    expect(users).toEqual([]);
  });

  it('finds a circle, also one behind a branch', () => {
    const circle = new Map([
      ['a.ts', ['b.ts', 'x.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['b.ts']],
      ['x.ts', []],
    ]);
    expect(cycles(circle)).toEqual(['b.ts -> c.ts -> b.ts']);
    expect(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
    ).toEqual([]);
  });
});

describe('core/ is pure', () => {
  const core = sourceFiles(join(SRC, 'core'));

  it('imports no I/O: only node:crypto and zod outside itself', () => {
    const found = core.flatMap((path) =>
      specifiersOf(path)
        .filter(impure)
        .map((s) => `${relative(SRC, path)}: ${s}`),
    );
    expect(found).toEqual([]);
  });

  it.each(['node:fs', 'fs', 'node:fs/promises', 'node:net', 'node:http', 'node:child_process', 'ajv'])(
    'the check rejects %s',
    (specifier) => {
      expect(impure(specifier)).toBe(true);
    },
  );

  it('the check lets computation through', () => {
    expect(['node:crypto', 'zod', './queue.js'].filter(impure)).toEqual([]);
  });
});
