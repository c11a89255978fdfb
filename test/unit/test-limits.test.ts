import { DEFAULT_AWS_CALLS } from '../../src/aws/clients.js';
import { loadConfig } from '../../src/config/load.js';
import { TEST_AWS_CALLS, TEST_AWS_ENV, TEST_ENV } from '../helpers/test-limits.js';

describe("the tests' own AWS timeouts and liveness (test/helpers/test-limits.ts)", () => {
  it('are valid configuration, the same limits as the clients the helpers make', () => {
    const asConfig = { ...TEST_AWS_CALLS, connectTimeoutMs: 10_000 };
    expect(loadConfig({ ...TEST_AWS_ENV }).awsCalls).toEqual(asConfig);
    expect(loadConfig({ ...TEST_ENV }).awsCalls).toEqual(asConfig);
    expect(loadConfig({ ...TEST_ENV }).health.maxEventLoopDelayMs).toBe(60_000);
  });

  it('are more generous than the production defaults, which stay as they are', () => {
    expect(loadConfig({}).awsCalls).toEqual(DEFAULT_AWS_CALLS);
    expect(TEST_AWS_CALLS.dynamodbRequestTimeoutMs).toBeGreaterThan(
      DEFAULT_AWS_CALLS.dynamodbRequestTimeoutMs,
    );
    expect(TEST_AWS_CALLS.sqsRequestTimeoutMs).toBeGreaterThan(DEFAULT_AWS_CALLS.sqsRequestTimeoutMs);
    expect(TEST_AWS_CALLS.connectTimeoutMs).toBeGreaterThan(DEFAULT_AWS_CALLS.connectTimeoutMs);
  });
});
