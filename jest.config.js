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
  // The integration suites each start their own emulators on random ports; two workers fit two cores.
  maxWorkers: 2,
};
