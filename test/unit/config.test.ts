import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults and means embedded mode without SQS_QUEUE_URL', () => {
    const config = loadConfig({});
    expect(config.queueUrl).toBeUndefined();
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.handler).toBe('log');
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
