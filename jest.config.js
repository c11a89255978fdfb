/** Jest runs the TypeScript sources as native ES modules (see "test:jest" in package.json). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Handler modules (examples/) import the package by name, as users' modules do.
    '^sqs-idempotent-worker$': '<rootDir>/src/index.ts',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // test/ops needs Prometheus' own tools (npm run test:ops), test/deploy kubectl, yamllint and
  // docker-compose (npm run test:deploy), test/browser Chromium (npm run test:browser), test/clients
  // Debian's awscli and python3-boto3 (npm run test:clients): .ci/run
  // installs them and runs each.
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/ops/',
    '<rootDir>/test/deploy/',
    '<rootDir>/test/browser/',
    '<rootDir>/test/clients/',
  ],
  // Stryker's sandbox (npm run test:mutation) is a copy of the project: not a second package.
  modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp/'],
  // Every process a test starts is ended after it, and the run fails if one outlives the tests
  // (test/helpers/children.ts).
  globalSetup: '<rootDir>/test/helpers/jest-global-setup.ts',
  setupFilesAfterEnv: ['<rootDir>/test/helpers/jest-setup.ts'],
  globalTeardown: '<rootDir>/test/helpers/jest-global-teardown.ts',
  testTimeout: 30000,
  // jest asks each worker to exit at the end and, 500 ms later by default, kills it and warns "A
  // worker process has failed to exit gracefully" as if a handle had leaked. No handle leaks here
  // (at that moment the workers hold only their own three pipes); under a load of 10-14 on two
  // cores their event loops stall for up to 1.1 s (GC of 400-650 MB heaps, CPU starvation), and
  // the 500 ms ran out before they read the request. 5 s keeps the warning for real leaks (a
  // handle that keeps a worker alive keeps it alive past any grace).
  workerGracefulExitTimeout: 5000,
  // The integration suites each start their own emulators on random ports; two workers fit two cores.
  maxWorkers: 2,
};
