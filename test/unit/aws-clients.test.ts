import {
  createDynamoClient,
  createSqsClient,
  parsedEndpoint,
  SDK_LOGGER_MIDDLEWARE,
} from '../../src/aws/clients.js';

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

describe('parsedEndpoint', () => {
  it('parses an endpoint once into the shape the SDK uses as it is', () => {
    expect(parsedEndpoint('http://127.0.0.1:4566')).toEqual({
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: '/',
      port: 4566,
    });
    expect(parsedEndpoint('https://sqs.eu-west-1.amazonaws.com/base?x=1')).toEqual({
      protocol: 'https:',
      hostname: 'sqs.eu-west-1.amazonaws.com',
      path: '/base',
      query: { x: '1' },
    });
  });

  it('is what the clients are given, so the SDK does not parse it per call', async () => {
    const client = createDynamoClient({
      region: 'us-east-1',
      sqsEndpoint: undefined,
      dynamodbEndpoint: 'http://127.0.0.1:8000',
    });
    try {
      const first = await client.config.endpoint?.();
      expect(first).toMatchObject({ hostname: '127.0.0.1', port: 8000, path: '/' });
      // The same parsed endpoint on each call: a string endpoint was parsed anew for every request.
      expect(await client.config.endpoint?.()).toBe(first);
    } finally {
      client.destroy();
    }
  });
});
