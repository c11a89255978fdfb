import base from './jest.config.js';

/**
 * `npm run test:clients`: real clients on SQS's query protocol (Debian's /usr/bin/aws, awscli
 * 2.9.19, and /usr/bin/python3 with python3-boto3) against `sqs-worker start` in embedded mode. It
 * fails, never skips, when they are missing; `npm test` leaves it out so that it needs nothing but
 * npm; CI installs them with apt and runs it (.ci/run).
 */
export default {
  ...base,
  testMatch: ['<rootDir>/test/clients/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 120000,
  maxWorkers: 1,
};
