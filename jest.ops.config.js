import base from './jest.config.js';

/**
 * `npm run test:ops`: the suites that need Prometheus' own tools (the Debian package prometheus:
 * promtool and the server). They fail, never skip, when the tools are missing. `npm test` leaves
 * them out so that it needs nothing but npm; CI runs both (.ci/run).
 */
export default {
  ...base,
  testMatch: ['<rootDir>/test/ops/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
};
