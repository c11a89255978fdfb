import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { DEFAULT_LIMITS, httpLimits } from '../../src/http/server.js';

function problem(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the sidecar settings', () => {
  it('listens on loopback by default, with the timeouts and cap of the server defaults', () => {
    const { http } = loadConfig({});
    expect(http.host).toBe('127.0.0.1');
    expect(http).toMatchObject({
      requestTimeoutMs: DEFAULT_LIMITS.requestTimeoutMs,
      keepAliveTimeoutMs: DEFAULT_LIMITS.keepAliveTimeoutMs,
      maxConnections: DEFAULT_LIMITS.maxConnections,
    });
  });

  it('reads the timeouts in seconds and the cap', () => {
    const { http } = loadConfig({
      HTTP_REQUEST_TIMEOUT: '2.5',
      HTTP_KEEP_ALIVE_TIMEOUT: '30',
      HTTP_MAX_CONNECTIONS: '1000',
    });
    expect(http).toMatchObject({ requestTimeoutMs: 2500, keepAliveTimeoutMs: 30_000, maxConnections: 1000 });
  });

  it.each([
    ['HTTP_REQUEST_TIMEOUT', '0'],
    ['HTTP_REQUEST_TIMEOUT', '0.5'],
    ['HTTP_REQUEST_TIMEOUT', '301'],
    ['HTTP_KEEP_ALIVE_TIMEOUT', '0'],
    ['HTTP_MAX_CONNECTIONS', '0'],
    ['HTTP_MAX_CONNECTIONS', 'lots'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(problem({ [name]: value })).toContain(name);
  });
});

describe('httpLimits', () => {
  it('keeps the headers timeout and the check interval within the request timeout', () => {
    expect(httpLimits({ requestTimeoutMs: 2000 })).toMatchObject({
      requestTimeoutMs: 2000,
      headersTimeoutMs: 2000,
      timeoutCheckIntervalMs: 1000,
    });
    expect(httpLimits({ requestTimeoutMs: 300, headersTimeoutMs: 5000 })).toMatchObject({
      headersTimeoutMs: 300,
      timeoutCheckIntervalMs: 300,
    });
  });

  it('never lets the idle-socket bound cut a request short', () => {
    expect(httpLimits({ requestTimeoutMs: 300_000 }).socketIdleTimeoutMs).toBe(300_000);
    expect(httpLimits().socketIdleTimeoutMs).toBe(DEFAULT_LIMITS.socketIdleTimeoutMs);
  });
});
