import { loadConfig } from '../../src/config/load.js';
import { configError } from '../helpers/config.js';

/** Issue 20: config refuses what AWS would refuse, before anything starts (exit 2 naming the variable). */
describe('config refuses what AWS would refuse (issue 20)', () => {
  it.each([
    'us-east-1 ',
    ' us-east-1',
    'not a region!',
    'US-EAST-1',
    'us_east_1',
    '-us-east-1',
    'us-east-1-',
    'a'.repeat(64),
  ])('AWS_REGION=%j is refused, naming the variable', (region) => {
    const error = configError(() => loadConfig({ AWS_REGION: region }));
    expect(error.variable).toBe('AWS_REGION');
    expect(error.message).toContain('AWS_REGION=');
  });

  it.each(['us-east-1', 'eu-central-2', 'us-gov-west-1', 'cn-north-1', 'eu-isoe-west-1', 'local'])(
    'AWS_REGION=%s is accepted',
    (region) => {
      expect(loadConfig({ AWS_REGION: region }).region).toBe(region);
    },
  );

  it.each(['AWS.key', 'aws.key', 'amazon.Key', 'Amazon.key', 'a..b', '.key', 'key.'])(
    'IDEMPOTENCY_KEY_ATTRIBUTE=%s, a name SQS refuses, is refused',
    (name) => {
      const error = configError(() => loadConfig({ IDEMPOTENCY_KEY_ATTRIBUTE: name }));
      expect(error.variable).toBe('IDEMPOTENCY_KEY_ATTRIBUTE');
    },
  );

  it.each(['IdempotencyKey', 'my.key', 'AWSKey', 'Amazonkey', 'a-b_c.d'])(
    'IDEMPOTENCY_KEY_ATTRIBUTE=%s is accepted',
    (name) => {
      expect(loadConfig({ IDEMPOTENCY_KEY_ATTRIBUTE: name }).idempotency.keyAttribute).toBe(name);
    },
  );

  it('refuses EMBEDDED_SQS_PORT equal to EMBEDDED_DYNAMODB_PORT, naming both', () => {
    const error = configError(() =>
      loadConfig({ EMBEDDED_SQS_PORT: '9400', EMBEDDED_DYNAMODB_PORT: '9400' }),
    );
    expect(error.variable).toBe('EMBEDDED_DYNAMODB_PORT');
    expect(error.message).toContain('EMBEDDED_SQS_PORT');
    expect(error.message).toContain('EMBEDDED_DYNAMODB_PORT');
  });

  it('refuses HTTP_PORT equal to an embedded port in embedded mode, naming both', () => {
    const error = configError(() => loadConfig({ HTTP_PORT: '9324' }));
    expect(error.variable).toBe('HTTP_PORT');
    expect(error.message).toContain('EMBEDDED_SQS_PORT');
  });

  it('lets every port be 0 (each picks its own free port), and ignores embedded ports with a real queue', () => {
    expect(() =>
      loadConfig({ EMBEDDED_SQS_PORT: '0', EMBEDDED_DYNAMODB_PORT: '0', HTTP_PORT: '0' }),
    ).not.toThrow();
    const queue = 'https://sqs.us-east-1.amazonaws.com/111122223333/q';
    expect(() => loadConfig({ SQS_QUEUE_URL: queue, HTTP_PORT: '9324' })).not.toThrow();
  });

  it.each([
    ['OTEL_SERVICE_NAME', ' '],
    ['OTEL_SERVICE_NAME', '\t \t'],
    ['HANDLER', '   '],
    ['MESSAGE_SCHEMA', ' '],
  ])('%s=%j, whitespace only, is refused', (name, value) => {
    const error = configError(() => loadConfig({ [name]: value }));
    expect(error.variable).toBe(name);
  });
});

describe('credentials never travel in URLs (issue 20)', () => {
  it('refuses WEBHOOK_URL with a user and password, pointing to WEBHOOK_HEADERS, without showing them', () => {
    const error = configError(() =>
      loadConfig({ HANDLER: 'webhook', WEBHOOK_URL: 'http://u:pass@hooks.example/hook?api_key=K' }),
    );
    expect(error.variable).toBe('WEBHOOK_URL');
    expect(error.message).toContain('WEBHOOK_HEADERS');
    expect(error.message).not.toContain(':pass');
    expect(error.message).not.toContain('api_key=K');
  });

  it.each([
    'AWS_ENDPOINT_URL_SQS',
    'AWS_ENDPOINT_URL_DYNAMODB',
    'SQS_QUEUE_URL',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
  ])('%s with a user name is refused too, and not shown', (name) => {
    const error = configError(() => loadConfig({ [name]: 'https://user:s3cret@host.example/x' }));
    expect(error.variable).toBe(name);
    expect(error.message).not.toContain('s3cret');
  });

  it('reads WEBHOOK_HEADERS as name=value pairs, a secret never shown', () => {
    const config = loadConfig({
      HANDLER: 'webhook',
      WEBHOOK_URL: 'https://hooks.example/hook',
      WEBHOOK_HEADERS: 'authorization=Bearer abc,x-api-key=K',
    });
    expect(config.webhook.headers).toBe('authorization=Bearer abc,x-api-key=K');
    const error = configError(() => loadConfig({ WEBHOOK_HEADERS: 'no pairs here s3cret' }));
    expect(error.variable).toBe('WEBHOOK_HEADERS');
    expect(error.message).not.toContain('s3cret');
  });
});

describe('HTTP_ALLOWED_HOSTS (issue 20)', () => {
  it('is unset by default (loopback names only) and reads a comma-separated list of host names', () => {
    expect(loadConfig({}).http.allowedHosts).toBeUndefined();
    expect(
      loadConfig({ HTTP_ALLOWED_HOSTS: 'worker.internal, Status.Example.com' }).http.allowedHosts,
    ).toEqual(['worker.internal', 'status.example.com']);
  });

  it.each(['evil.example:8080', 'http://x', 'a b', ',', 'x,,y'])('refuses %j', (value) => {
    expect(configError(() => loadConfig({ HTTP_ALLOWED_HOSTS: value })).variable).toBe('HTTP_ALLOWED_HOSTS');
  });
});
