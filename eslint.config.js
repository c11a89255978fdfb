import js from '@eslint/js';
import jest from 'eslint-plugin-jest';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/: each folder and the folders it may import, a DAG (cli/ and app.ts are
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
    // a root file (app.ts, main.ts, index.ts), which no folder may import.
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
    files: ['src/app.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\./(?:cli/|main\\.js$|index\\.js$)',
              message:
                'Layers: app.ts (the composition root) may import any folder but cli/, main.ts and index.ts.',
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
);
