import js from '@eslint/js';
import jest from 'eslint-plugin-jest';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/: each folder and the folders it may import, a DAG (cli/ and app/ are
 * below). test/unit/layers.test.ts keeps its own copy, checks the whole import graph against it
 * (so a disabled lint line still fails) and checks that these rules reject exactly what it does.
 */
export const LAYERS = {
  core: [],
  config: ['core'],
  aws: ['core', 'config'],
  observability: ['core', 'config'],
  seeding: ['core', 'aws'],
  worker: ['core'],
  handlers: ['core', 'config'],
  http: ['core', 'config', 'observability', 'seeding'],
  testing: ['core'],
};

/** Packages a layer must not import: it gets them as interfaces from core instead. */
export const BANNED_PACKAGES = {
  core: ['@aws-sdk/*', 'fastify', 'pino', 'sqs-consumer', 'sqs-producer', 'prom-client', '@opentelemetry/*'],
  worker: ['@aws-sdk/*', 'sqs-consumer', 'sqs-producer', '@opentelemetry/*'],
};

/** One no-restricted-imports rule per folder of LAYERS, for relative imports and packages. */
function layerRules() {
  return Object.entries(LAYERS).map(([layer, allowed]) => {
    const may = allowed.length === 0 ? 'nothing outside itself' : allowed.map((a) => `${a}/`).join(', ');
    // Climbs out of the folder ('../', all of them) into a folder that is not allowed, or into
    // a root file (main.ts, index.ts), which no folder may import.
    const notAllowed = allowed.length === 0 ? '' : `(?!(?:${allowed.join('|')})/)`;
    const patterns = [
      { regex: `^(?:\\.\\./)+(?!\\.\\./)${notAllowed}`, message: `Layers: ${layer}/ may import ${may}.` },
    ];
    const banned = BANNED_PACKAGES[layer];
    if (banned) {
      patterns.push({
        group: banned,
        message: `Layers: ${layer}/ imports no ${banned.join(', ')}; it gets them as interfaces from core.`,
      });
    }
    return {
      files: [`src/${layer}/**/*.ts`],
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    };
  });
}

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', '.emulators/', 'reports/', '.stryker-tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Size limits the tools keep (STYLE.md, habit 10): a file of src/ at most 400 lines, a function
    // at most 80, counted as ESLint does by default (every line, blank and comment lines too: a
    // long comment is still reading). No exception: a file that grows past them is split by
    // concern. test/unit/size-limits.test.ts checks that the rules are on for src/.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', 400],
      'max-lines-per-function': ['error', 80],
    },
  },
  {
    // The status page's script (src/http/status/page.js): a classic script in the browser, inlined
    // into the page (status-assets.ts calls its one function), with the browser's globals only.
    files: ['src/http/status/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(['document', 'fetch', 'setTimeout'].map((name) => [name, 'readonly'])),
    },
    rules: { 'max-lines-per-function': ['error', 80] },
  },
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  ...layerRules(),
  {
    // The composition root wires everything except what sits above it.
    files: ['src/app/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?:cli/|main\\.js$|index\\.js$)',
              message:
                'Layers: app/ (the composition root) may import any folder but cli/, main.ts and index.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?:\\.\\./)+(?:main|index)\\.js$',
              message: 'Layers: cli/ may import anything but main.ts and index.ts (the entry points).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.test.ts'],
    ...jest.configs['flat/recommended'],
    rules: {
      ...jest.configs['flat/recommended'].rules,
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'error',
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'assert*'] }],
    },
  },
  {
    files: ['*.config.js', 'eslint.config.js', 'jest.config.js'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // Plain JavaScript run by Node: scripts, examples, fixtures, benchmarks.
    files: ['**/*.mjs'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'console',
          'process',
          'fetch',
          'setTimeout',
          'clearTimeout',
          'URL',
          'AbortController',
          'AbortSignal',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // Time is a port (src/core/clock.ts): where the worker's time passes, timers and clocks come
    // from the injected Clock, so tests drive them (test/helpers/manual-clock.ts) and every
    // interval is monotonic. setImmediate stays: a turn of the event loop, not time.
    // worker/poller.ts is a test-only receive loop on its way to test/.
    files: ['src/worker/**/*.ts', 'src/aws/sqs-consumer-poller.ts', 'src/aws/table-watch.ts'],
    ignores: ['src/worker/poller.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map((name) => ({
          name,
          message: `Use the injected Clock's timers (clock.setTimeout, clock.clearTimeout, clock.sleep), not the global ${name}.`,
        })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use the injected clock.now() (wall time).' },
        { object: 'performance', property: 'now', message: 'Use the injected clock.monotonic().' },
        ...['setTimeout', 'setInterval'].map((property) => ({
          object: 'globalThis',
          property,
          message: "Use the injected Clock's timers.",
        })),
      ],
    },
  },
);
