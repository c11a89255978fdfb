import base from './jest.config.js';

/**
 * `npm run test:browser`: the status page in a real browser, Debian's Chromium (/usr/bin/chromium,
 * or CHROMIUM_PATH) driven by playwright-core. It fails, never skips, when the browser is missing;
 * `npm test` leaves it out so that it needs nothing but npm; CI installs the browser and runs it
 * (.ci/run).
 */
export default {
  ...base,
  testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 120000,
  maxWorkers: 1,
};
