import base from './jest.config.js';

/**
 * `npm run test:deploy`: checks of the deployment artifacts (Dockerfile, docker-compose.yml,
 * k8s/) with tools from outside npm: kubectl (kustomize), yamllint, shellcheck and Debian's
 * docker-compose. They fail, never skip, when a tool is missing; .ci/run installs them.
 */
export default {
  ...base,
  testMatch: ['<rootDir>/test/deploy/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
};
