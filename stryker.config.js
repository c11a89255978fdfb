/**
 * Mutation testing of the guarantee core: `npm run test:mutation` (about 40 minutes on two busy
 * cores), or one file: `npm run test:mutation -- --mutate src/worker/settle-policy.ts`. Reports go
 * to reports/mutation/ (HTML and JSON); the score per file and every surviving mutant are printed.
 * Not in .ci/run: too long. See docs/development.md, "Mutation testing".
 *
 * Jest runs the sources as native ES modules (jest.config.js), hence the Node flag; the jest
 * config names only the suites that cover these files (jest.mutation.config.js).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  mutate: [
    'src/worker/lease.ts',
    'src/worker/settle-policy.ts',
    'src/worker/batching-queue.ts',
    'src/worker/batching-store.ts',
    'src/worker/capacity.ts',
    'src/core/pipeline.ts',
    'src/core/idempotency.ts',
    'src/core/completed-cache.ts',
    'src/core/idempotency-store.ts',
    'src/core/record-keys.ts',
    'src/core/whole-batch.ts',
    'src/aws/dynamodb-items.ts',
  ],
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  jest: { projectType: 'custom', configFile: 'jest.mutation.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  // The mutants do not type-check; ts-jest compiles without diagnostics anyway.
  disableTypeChecks: true,
  // Two cores shared with other work: one jest at a time by default (`--concurrency 2` to go faster).
  concurrency: 1,
  // Busy machines: a mutant counts as a timeout (killed) only well past its tests' normal time.
  timeoutMS: 20_000,
  dryRunTimeoutMinutes: 15,
  ignorePatterns: [
    '/reports',
    '/dist',
    '/coverage',
    '/.emulators',
    '/bench',
    '/chaos',
    '/docs',
    '/k8s',
    '/ops',
  ],
  reporters: ['clear-text', 'html', 'json', 'progress'],
  clearTextReporter: { allowColor: false, logTests: false, reportTests: false, reportMutants: true },
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  thresholds: { high: 90, low: 80, break: null },
};
