import { createDynamoClient, createSqsClient, SDK_LOGGER_MIDDLEWARE } from '../../src/aws/clients.js';

/**
 * Issue 11: the SDK's logging middleware masked a copy of every call's input and output for its
 * no-op logger (about 2.5 % of the worker's CPU). The clients are made without it; the rest of
 * the SDK's stack (retries, signing, serialisation) stays.
 */
describe('AWS clients', () => {
  const settings = {
    region: 'us-east-1',
    sqsEndpoint: 'http://127.0.0.1:1',
    dynamodbEndpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };

  it.each([
    ['SQS', () => createSqsClient(settings)],
    ['DynamoDB', () => createDynamoClient(settings)],
  ])('%s: no SDK logging middleware; retries and signing stay', (_, create) => {
    const client = create();
    try {
      const names = client.middlewareStack.identify().map((entry) => entry.split(' ')[0]);
      expect(names).not.toContain(SDK_LOGGER_MIDDLEWARE);
      expect(names).toEqual(expect.arrayContaining(['retryMiddleware', 'httpSigningMiddleware']));
    } finally {
      client.destroy();
    }
  });
});
