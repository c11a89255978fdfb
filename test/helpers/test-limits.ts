import type { AwsCallSettings } from '../../src/aws/clients.js';

/**
 * AWS call limits for tests against emulators, generous on purpose: the emulators run on the
 * same two cores as jest, the CLI processes and other test runs, and at a load of 12-24 the
 * production defaults (3 s for DynamoDB, 5 s for SQS) failed requests that were only queued for
 * CPU. A test is about correctness there, not latency. Production defaults are unchanged
 * (src/config/schema.ts); tests about timeouts set their own small values, which win (they
 * come after these in every helper).
 */
export const TEST_AWS_CALLS: AwsCallSettings = {
  // Clients made by the tests only (the variable stops at 10 s): with an emulator in the same
  // process, a connection is 'established' when the event loop gets to it, and 50 concurrent
  // claims to dynalite at a load of 20 waited over 10 s for that.
  connectTimeoutMs: 30_000,
  sqsRequestTimeoutMs: 30_000,
  dynamodbRequestTimeoutMs: 30_000,
  maxAttempts: 3,
};

/** The same limits as configuration variables (the connect timeout at its largest, 10 s). */
export const TEST_AWS_ENV: Readonly<Record<string, string>> = {
  AWS_CONNECT_TIMEOUT: '10',
  SQS_REQUEST_TIMEOUT: String(TEST_AWS_CALLS.sqsRequestTimeoutMs / 1000),
  DYNAMODB_REQUEST_TIMEOUT: String(TEST_AWS_CALLS.dynamodbRequestTimeoutMs / 1000),
};

/**
 * What configs and processes the tests start get ahead of their own variables: the AWS limits,
 * and a liveness that tolerates a slow event loop. The emulators, the app and jest share one
 * event loop in the in-process suites, and at a load of 20 it lagged past the 2 s default of
 * HEALTH_MAX_EVENT_LOOP_DELAY (/healthz answered 503). Tests of liveness set their own.
 */
export const TEST_ENV: Readonly<Record<string, string>> = {
  ...TEST_AWS_ENV,
  HEALTH_MAX_EVENT_LOOP_DELAY: '60',
};
