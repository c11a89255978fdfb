import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, withOverrides, type Config } from '../../src/config/load.js';
import { configError } from '../helpers/config.js';

describe('loadConfig', () => {
  it('applies the documented defaults and means embedded mode without SQS_QUEUE_URL', () => {
    const config = loadConfig({});
    expect(config.queueUrl).toBeUndefined();
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 8080,
      requestTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 256,
    });
    expect(config.handler).toBeUndefined();
    expect(config.region).toBe('us-east-1');
    expect(config.maxReceiveCount).toBe(5);
    expect(config.idempotency.retentionSeconds).toBe(86400);
    expect(config.shutdownTimeoutMs).toBe(25_000);
  });

  it('reads and converts values from the environment', () => {
    const config = loadConfig({
      SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders',
      HTTP_PORT: '9090',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://localhost:8000',
      SHUTDOWN_TIMEOUT: '1.5',
      LOG_LEVEL: 'debug',
    });
    expect(config.queueUrl).toBe('https://sqs.eu-west-1.amazonaws.com/123456789012/orders');
    expect(config.http.port).toBe(9090);
    expect(config.dynamodbEndpoint).toBe('http://localhost:8000');
    expect(config.shutdownTimeoutMs).toBe(1500);
    expect(config.logLevel).toBe('debug');
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.idempotency)).toBe(true);
  });

  it.each([
    ['HTTP_PORT', '70000', 'an integer from 0 to 65535'],
    ['HTTP_PORT', 'eighty', 'an integer from 0 to 65535'],
    ['SQS_WAIT_TIME_SECONDS', '21', 'an integer from 0 to 20'],
    ['SQS_BATCH_SIZE', '0', 'an integer from 1 to 10'],
    ['LOG_LEVEL', 'loud', 'one of fatal, error'],
    ['SQS_QUEUE_URL', 'not a url', 'an http(s) URL'],
    ['IDEMPOTENCY_TABLE', 'a', '3 to 255 characters'],
    ['SHUTDOWN_TIMEOUT', '-1', 'a number of seconds'],
  ])('rejects %s=%s naming the variable and the rule', (name, value, rule) => {
    const error = configError(() => loadConfig({ [name]: value }));
    expect(error.variable).toBe(name);
    expect(error.message).toContain(name);
    expect(error.message).toContain(JSON.stringify(value));
    expect(error.message).toContain(rule);
    expect(error.code).toBe('ERR_CONFIG');
  });

  describe('profiles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sqs-worker-config-'));
    writeFileSync(join(dir, 'staging.json'), JSON.stringify({ HTTP_PORT: 9000, LOG_LEVEL: 'warn' }));
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ HTTP_PROT: 9000 }));

    it('loads config/<profile>.json, and the environment wins over it', () => {
      const config = loadConfig({ CONFIG_PROFILE: 'staging', LOG_LEVEL: 'error' }, { configDir: dir });
      expect(config.http.port).toBe(9000);
      expect(config.logLevel).toBe('error');
    });

    it('rejects unknown variables in a profile', () => {
      const error = configError(() => loadConfig({ CONFIG_PROFILE: 'typo' }, { configDir: dir }));
      expect(error.variable).toBe('HTTP_PROT');
    });

    it('rejects a profile that does not exist', () => {
      const error = configError(() => loadConfig({ CONFIG_PROFILE: 'nope' }, { configDir: dir }));
      expect(error.variable).toBe('CONFIG_PROFILE');
    });
  });
});

describe('overrides', () => {
  const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';

  it.each([
    [{ maxInFlight: -5 }, 'maxInFlight (MAX_IN_FLIGHT) = -5 is invalid: must be an integer from 1 to 1000'],
    [{ batchSize: 99 }, 'batchSize (SQS_BATCH_SIZE) = 99 is invalid: must be an integer from 1 to 10'],
    [
      { shutdownTimeoutMs: -1 },
      'shutdownTimeoutMs (SHUTDOWN_TIMEOUT) = -1 is invalid: must be 0 (no wait), or a number of milliseconds from 1 to 3600000',
    ],
    [
      { http: { port: 70000 } },
      'http.port (HTTP_PORT) = 70000 is invalid: must be an integer from 0 to 65535 (0 picks a free port)',
    ],
  ])('withOverrides validates %j like the environment', (overrides, message) => {
    const error = configError(() => withOverrides(loadConfig({}), overrides));
    expect(error.message).toBe(message);
    expect(error.variable).toBe(/\(([A-Z_]+)\)/.exec(message)?.[1]);
  });

  it('validates overrides given to loadConfig, before the config exists', () => {
    const error = configError(() => loadConfig({}, { overrides: { batchSize: 99 } }));
    expect(error.variable).toBe('SQS_BATCH_SIZE');
    expect(error.message).toContain('batchSize (SQS_BATCH_SIZE) = 99 is invalid');
  });

  it('applies cross-field rules to overrides, naming the field', () => {
    const config = loadConfig({ RETRY_BACKOFF_MAX: '2' });
    const error = configError(() => withOverrides(config, { backoff: { baseMs: 5000 } }));
    expect(error.variable).toBe('RETRY_BACKOFF_BASE');
    expect(error.message).toBe(
      'backoff.baseMs (RETRY_BACKOFF_BASE) must not exceed backoff.maxMs (RETRY_BACKOFF_MAX)',
    );
    const mixed = configError(() => loadConfig({ HANDLER: 'webhook' }, { overrides: { maxInFlight: 2 } }));
    expect(mixed.message).toBe('WEBHOOK_URL is required when HANDLER=webhook');
  });

  it('lets an override satisfy a cross-field rule and win over a bad environment value', () => {
    const config = loadConfig(
      { HANDLER: 'webhook', MAX_IN_FLIGHT: 'many' },
      { overrides: { webhook: { url: 'http://127.0.0.1:9/hook' }, maxInFlight: 3 } },
    );
    expect(config.webhook).toEqual({ url: 'http://127.0.0.1:9/hook', timeoutMs: 10_000 });
    expect(config.maxInFlight).toBe(3);
  });

  it('returns a frozen copy and leaves the base alone', () => {
    const base = loadConfig({});
    const config = withOverrides(base, { idempotency: { cacheSize: 0 }, seed: { enabled: false } });
    expect(config.idempotency).toEqual({ ...base.idempotency, cacheSize: 0 });
    expect(config.seed.enabled).toBe(false);
    expect(base.idempotency.cacheSize).toBe(10_000);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.idempotency)).toBe(true);
  });

  it('never shows a secret', () => {
    const fromEnv = configError(() => loadConfig({ SEED_TOKEN: 'hunter2' }));
    expect(fromEnv.message).toBe(
      'SEED_TOKEN=<redacted> is invalid (shorter than 16 characters): must be at least 16 characters: printable ASCII, no whitespace or control characters',
    );
    const fromCode = configError(() => loadConfig({}, { overrides: { seed: { token: 'hunter2' } } }));
    expect(fromCode.message).toBe(
      'seed.token (SEED_TOKEN) = <redacted> is invalid: must be at least 16 characters: printable ASCII, no whitespace or control characters',
    );
  });

  it('requires SEED_TOKEN when seeding is on outside embedded mode', () => {
    const error = configError(() => loadConfig({ SQS_QUEUE_URL: queueUrl, SEED_ENABLED: 'true' }));
    expect(error.variable).toBe('SEED_TOKEN');
    expect(error.message).toContain('SEED_TOKEN is required when SEED_ENABLED=true');
  });

  it('rejects fields that do not exist and values of the wrong type', () => {
    const config = loadConfig({});
    // @ts-expect-error maxInflight is not a field of Config
    const unknown = configError(() => withOverrides(config, { maxInflight: 5 }));
    expect(unknown.message).toBe('unknown config field maxInflight');
    // @ts-expect-error maxInFlight is a number
    const wrongType = configError(() => withOverrides(config, { maxInFlight: '5' }));
    expect(wrongType.message).toBe(
      'maxInFlight (MAX_IN_FLIGHT) = "5" is invalid: must be an integer from 1 to 1000',
    );
  });
});

/** True when A and B are the same type, readonly modifiers included. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** The Config shape the rest of the code reads; Config is inferred from the schema and must stay this. */
interface ExpectedConfig {
  readonly region: string;
  readonly sqsEndpoint: string | undefined;
  readonly dynamodbEndpoint: string | undefined;
  readonly queueUrl: string | undefined;
  readonly waitTimeSeconds: number;
  readonly visibilityTimeoutSeconds: number;
  readonly batchSize: number;
  readonly batchFlushMs: number;
  readonly maxInFlight: number;
  readonly receiveConcurrency: number | undefined;
  readonly handlerBatchWindowMs: number;
  readonly shutdownTimeoutMs: number;
  readonly handlerTimeoutMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly messageSchema: string | undefined;
  readonly messageEnvelope: 'none' | 'sns' | 'eventbridge' | 'auto';
  readonly webhook: {
    readonly url: string | undefined;
    readonly headers: string | undefined;
    readonly timeoutMs: number;
  };
  readonly seed: {
    readonly enabled: boolean | undefined;
    readonly token: string | undefined;
    readonly ratePerMinute: number;
  };
  readonly status: { readonly showKeys: boolean | undefined };
  readonly queueMetricsIntervalMs: number;
  readonly health: {
    readonly maxEventLoopDelayMs: number;
    readonly maxPollFailures: number;
    readonly maxStoreFailures: number;
  };
  readonly awsCalls: {
    readonly connectTimeoutMs: number;
    readonly sqsRequestTimeoutMs: number;
    readonly dynamodbRequestTimeoutMs: number;
    readonly maxAttempts: number;
  };
  readonly idempotency: {
    readonly table: string;
    readonly keyAttribute: string;
    readonly namespace: string | undefined;
    readonly retentionSeconds: number;
    readonly clockSkewMs: number | undefined;
    readonly cacheSize: number;
    readonly batching: 'auto' | 'off';
  };
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly allowedHosts: string[] | undefined;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly maxConnections: number;
  };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly logMessageBodies: boolean;
  readonly logRedact: string | undefined;
  readonly handler: string | undefined;
  readonly embedded: { readonly sqsPort: number; readonly dynamodbPort: number; readonly queueName: string };
  readonly maxReceiveCount: number;
  readonly tracing: {
    readonly exporter: 'otlp' | 'none' | undefined;
    readonly endpoint: string | undefined;
    readonly tracesEndpoint: string | undefined;
    readonly headers: string | undefined;
    readonly timeoutMs: number;
    readonly scheduleDelayMs: number;
    readonly serviceName: string;
    readonly sampler:
      | 'parentbased_always_on'
      | 'parentbased_always_off'
      | 'parentbased_traceidratio'
      | 'always_on'
      | 'always_off'
      | 'traceidratio';
    readonly samplerArg: number | undefined;
    readonly sdkDisabled: boolean;
  };
}

describe('Config', () => {
  it('is inferred from the schema with the shape the code reads', () => {
    const same: Equal<Config, ExpectedConfig> = true;
    expect(same).toBe(true);
  });
});
