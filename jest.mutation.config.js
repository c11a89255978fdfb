import base from './jest.config.js';

/**
 * The jest run Stryker repeats for every mutant (`npm run test:mutation`, stryker.config.js): only
 * the suites that exercise the guarantee core it mutates, so that its first run (every test, with
 * per-test coverage) and the static mutants (which run every test here) stay short. The store
 * contract runs on dynalite in-process: it is what checks dynamodb-items.ts' condition expressions.
 */
export default {
  ...base,
  testMatch: [
    'batching-queue',
    'batching-store',
    'body-hash-surrogates',
    'cache-clear',
    'claim-answer-lost',
    'canonical-json',
    'capacity-handoff',
    'completed-cache',
    'completed-cache-unit',
    'dead-letter-final',
    'dynamodb-items',
    'dynamodb-items-format',
    'envelope',
    'first-delivery-hint',
    'handler-timeout',
    'hostile-messages',
    'idempotency-service',
    'idempotency-service-calls',
    'idempotency-store',
    'lease-bound',
    'lease-hold',
    'lease-hold-edges',
    'lease-schedules',
    'leases',
    'message-key',
    'own-writes',
    'pipeline',
    'pipeline-paths',
    'receive-concurrency',
    'record-rules',
    'runtime',
    'settle-policy',
    'settle-release-cap',
    'timed-store',
    'tracing-runtime',
    'whole-batch',
  ]
    .map((name) => `<rootDir>/test/unit/${name}.test.ts`)
    .concat(['store-contract', 'dynamodb-claim'].map((name) => `<rootDir>/test/integration/${name}.test.ts`)),
  // Stryker runs one jest at a time in each of its workers.
  maxWorkers: 1,
};
