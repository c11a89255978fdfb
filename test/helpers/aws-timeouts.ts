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
  connectTimeoutMs: 10_000,
  sqsRequestTimeoutMs: 30_000,
  dynamodbRequestTimeoutMs: 30_000,
  maxAttempts: 3,
};

/** The same limits as configuration variables, for configs and processes the tests start. */
export const TEST_AWS_ENV: Readonly<Record<string, string>> = {
  AWS_CONNECT_TIMEOUT: String(TEST_AWS_CALLS.connectTimeoutMs / 1000),
  SQS_REQUEST_TIMEOUT: String(TEST_AWS_CALLS.sqsRequestTimeoutMs / 1000),
  DYNAMODB_REQUEST_TIMEOUT: String(TEST_AWS_CALLS.dynamodbRequestTimeoutMs / 1000),
};
