import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, withOverrides, type Environment } from '../../src/config/load.js';
import { configError } from '../helpers/config.js';
import type { WorkerMessage } from '../../src/core/message.js';
import { loadBodyCheck } from '../../src/handlers/message-schema.js';

describe('durations (issue 12)', () => {
  it.each([
    ['HANDLER_TIMEOUT', '0.0004', '0 (no limit), or a number of seconds from 0.01 to 43200'],
    ['HANDLER_TIMEOUT', '0.005', '0 (no limit), or a number of seconds from 0.01 to 43200'],
    ['QUEUE_METRICS_INTERVAL', '0.0001', '0 (off), or a number of seconds from 0.1 to 3600'],
    ['QUEUE_METRICS_INTERVAL', '0.05', '0 (off), or a number of seconds from 0.1 to 3600'],
    ['SHUTDOWN_TIMEOUT', '0.0004', 'from 0.001 to 3600'],
    ['SQS_BATCH_FLUSH_DELAY', '0.0001', 'from 0.001 to 10'],
    ['RETRY_BACKOFF_BASE', '0.0004', 'from 0.001 to 43200'],
    ['RETRY_BACKOFF_MAX', '0.0004', 'from 0.001 to 43200'],
    ['LEASE_CLOCK_SKEW', '0.0004', 'from 0.001 to 7200'],
    ['WEBHOOK_TIMEOUT', '0.0006', 'from 0.001 to 3600'],
    ['HEALTH_MAX_EVENT_LOOP_DELAY', '0.0051', 'from 0.01 to 600'],
    ['AWS_CONNECT_TIMEOUT', '0.0099', 'from 0.01 to 10'],
  ])(
    '%s=%s, non-zero but below the minimum, is rejected with the minimum in the rule',
    (name, value, rule) => {
      const error = configError(() => loadConfig({ [name]: value }));
      expect(error.variable).toBe(name);
      expect(error.message).toContain(JSON.stringify(value));
      expect(error.message).toContain(rule);
    },
  );

  it.each([
    ['HANDLER_TIMEOUT', '0', 'handlerTimeoutMs', 0],
    ['HANDLER_TIMEOUT', '0.01', 'handlerTimeoutMs', 10],
    ['QUEUE_METRICS_INTERVAL', '0', 'queueMetricsIntervalMs', 0],
    ['QUEUE_METRICS_INTERVAL', '0.1', 'queueMetricsIntervalMs', 100],
    ['SHUTDOWN_TIMEOUT', '0', 'shutdownTimeoutMs', 0],
    ['SQS_BATCH_FLUSH_DELAY', '0.001', 'batchFlushMs', 1],
  ] as const)('%s=%s is still accepted', (name, value, field, ms) => {
    expect(loadConfig({ [name]: value })[field]).toBe(ms);
  });

  it('applies the same minimum to values set in code', () => {
    const base = loadConfig({});
    const error = configError(() => withOverrides(base, { handlerTimeoutMs: 5 }));
    expect(error.variable).toBe('HANDLER_TIMEOUT');
    expect(error.message).toContain('0 (no limit), or a number of milliseconds from 10 to 43200000');
    expect(withOverrides(base, { handlerTimeoutMs: 0 }).handlerTimeoutMs).toBe(0);
    expect(configError(() => withOverrides(base, { queueMetricsIntervalMs: 1 })).variable).toBe(
      'QUEUE_METRICS_INTERVAL',
    );
  });
});

describe('SEED_TOKEN (issue 12)', () => {
  it.each([
    ['16 spaces', ' '.repeat(16)],
    ['a space inside', 'abcdefgh ijklmnopq'],
    ['a tab inside', 'abcdefgh\tijklmnopq'],
    ['a leading space', ' abcdefghijklmnopq'],
    ['a control character', 'abcdefgh\u0001ijklmnopq'],
    ['a non-breaking space', 'abcdefgh\u00a0ijklmnopq'],
    ['non-ASCII letters, which an HTTP header cannot carry as written', 'pässwörd-pässwörd-1'],
  ])('is rejected with %s, without showing it', (_, token) => {
    const error = configError(() => loadConfig({ SEED_TOKEN: token }));
    expect(error.variable).toBe('SEED_TOKEN');
    expect(error.message).toContain('SEED_TOKEN=<redacted>');
    expect(error.message).toContain('at least 16 characters');
    expect(error.message).toContain('no whitespace or control characters');
    const shown = error.message.replace('SEED_TOKEN=<redacted>', '');
    expect(shown).not.toContain(token);
    expect(shown).not.toMatch(/pässwörd|abcdefgh/);
  });

  it('accepts printable ASCII of 16 characters or more', () => {
    const token = 'A-z_0.9~+/=!#$%&*';
    expect(loadConfig({ SEED_TOKEN: token }).seed.token).toBe(token);
  });
});

describe('profiles (issue 12)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqs-worker-config-rules-'));
  const profile = (name: string, text: string): Environment => {
    writeFileSync(join(dir, `${name}.json`), text);
    return { CONFIG_PROFILE: name };
  };

  it.each(['constructor', 'hasOwnProperty', '__proto__', 'toString', 'valueOf'])(
    'rejects the key %s as not a known variable',
    (key) => {
      const env = profile('proto', `{${JSON.stringify(key)}: "1"}`);
      const error = configError(() => loadConfig(env, { configDir: dir }));
      expect(error.variable).toBe(key);
      expect(error.message).toContain(`${key} is not a known variable`);
    },
  );

  it('says which file and key an invalid value came from', () => {
    const env = profile('badport', '{"HTTP_PORT": "abc"}');
    const error = configError(() => loadConfig(env, { configDir: dir }));
    expect(error.variable).toBe('HTTP_PORT');
    expect(error.message).toContain(join(dir, 'badport.json'));
    expect(error.message).toContain('HTTP_PORT="abc" is invalid');
    expect(error.message).toContain('an integer from 0 to 65535');
  });

  it('says the profile when a cross-field rule fails on its values', () => {
    const env = profile('backoff', '{"RETRY_BACKOFF_BASE": 10, "RETRY_BACKOFF_MAX": 2}');
    const error = configError(() => loadConfig(env, { configDir: dir }));
    expect(error.variable).toBe('RETRY_BACKOFF_BASE');
    expect(error.message).toContain(join(dir, 'backoff.json'));
  });

  it('does not blame the profile for a value the environment set', () => {
    const env = { ...profile('fine', '{"LOG_LEVEL": "warn"}'), HTTP_PORT: 'abc' };
    const error = configError(() => loadConfig(env, { configDir: dir }));
    expect(error.message).toBe(
      'HTTP_PORT="abc" is invalid (not an integer): must be an integer from 0 to 65535 (0 picks a free port)',
    );
  });

  it('suggests the variable a misspelt key was meant to be', () => {
    const env = profile('typo', '{"MAX_INFLIGHT": 5}');
    const error = configError(() => loadConfig(env, { configDir: dir }));
    expect(error.message).toContain('MAX_INFLIGHT is not a known variable; did you mean MAX_IN_FLIGHT?');
  });
});

describe('overrides with prototype keys (issue 12)', () => {
  it.each([
    '{"__proto__": {"maxInFlight": 1}}',
    '{"http": {"__proto__": {"port": 1}}}',
    '{"constructor": 1}',
  ])('withOverrides(%s) is an unknown field, not silently ignored', (json) => {
    const error = configError(() => withOverrides(loadConfig({}), JSON.parse(json) as object));
    expect(error.message).toMatch(/^unknown config field /);
  });
});

describe('misspelt variables in the environment (issue 12)', () => {
  it.each([
    ['MAX_INFLIGHT', 'MAX_IN_FLIGHT'],
    ['MAXINFLIGHT', 'MAX_IN_FLIGHT'],
    ['max_in_flight', 'MAX_IN_FLIGHT'],
    ['SQS_QUEUE_ULR', 'SQS_QUEUE_URL'],
    ['SQS_QUEUE_URLS', 'SQS_QUEUE_URL'],
    ['HANDLER_TIMEOUTS', 'HANDLER_TIMEOUT'],
    ['SEED_TOKN', 'SEED_TOKEN'],
    ['LOGLEVEL', 'LOG_LEVEL'],
    ['HTTP_PROT', 'HTTP_PORT'],
    ['IDEMPOTENCY_TABEL', 'IDEMPOTENCY_TABLE'],
    ['HANDLR', 'HANDLER'],
  ])('%s is an error that suggests %s', (typo, meant) => {
    const error = configError(() => loadConfig({ [typo]: '5' }));
    expect(error.variable).toBe(typo);
    expect(error.message).toBe(`${typo} is not a known variable; did you mean ${meant}?`);
  });

  it('never shows the misspelt variable value (it may be a secret)', () => {
    const error = configError(() => loadConfig({ SEED_TOKNE: 'the-secret-value-123' }));
    expect(error.message).not.toContain('the-secret-value-123');
  });

  it('leaves an empty misspelt variable alone, as an empty variable of ours means unset', () => {
    expect(loadConfig({ MAX_INFLIGHT: '' }).maxInFlight).toBe(50);
  });

  /** What shells, containers, Kubernetes, CI, npm, Node and the AWS SDK set: none is ours, none is near. */
  const COMMON: Environment = {
    PATH: '/usr/bin',
    HOME: '/root',
    HOSTNAME: 'worker-7d9f',
    HOST: 'worker',
    PORT: '8080',
    USER: 'root',
    LOGNAME: 'root',
    SHELL: '/bin/bash',
    PWD: '/app',
    OLDPWD: '/',
    TERM: 'xterm',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
    TMPDIR: '/tmp',
    SHLVL: '1',
    _: '/usr/bin/node',
    DEBUG: '*',
    CI: 'true',
    HTTP_PROXY: 'http://proxy:3128',
    HTTPS_PROXY: 'http://proxy:3128',
    NO_PROXY: 'localhost',
    http_proxy: 'http://proxy:3128',
    https_proxy: 'http://proxy:3128',
    no_proxy: 'localhost',
    LOG_FORMAT: 'json',
    NODE_ENV: 'production',
    NODE_OPTIONS: '--enable-source-maps',
    NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
    NODE_COMPILE_CACHE: '/tmp/cache',
    UV_THREADPOOL_SIZE: '8',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_PROFILE: 'prod',
    AWS_ACCESS_KEY_ID: 'AKIA',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_SESSION_TOKEN: 'token',
    AWS_ENDPOINT_URL: 'http://localhost:4566',
    AWS_ENDPOINT_URL_S3: 'http://localhost:4566',
    AWS_ENDPOINT_URL_SNS: 'http://localhost:4566',
    AWS_ENDPOINT_URL_DYNAMODB_STREAMS: 'http://localhost:4566',
    AWS_MAX_ATTEMPT: '3',
    AWS_REGIONS: 'x',
    AWS_ROLE_ARN: 'arn:aws:iam::1:role/x',
    AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token',
    AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
    AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE',
    ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4',
    OTEL_SERVICE_NAME: 'sqs-worker',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    OTEL_LOG_LEVEL: 'info',
    KUBERNETES_SERVICE_HOST: '10.0.0.1',
    KUBERNETES_SERVICE_PORT: '443',
    KUBERNETES_SERVICE_PORT_HTTPS: '443',
    KUBERNETES_PORT: 'tcp://10.0.0.1:443',
    KUBERNETES_PORT_443_TCP: 'tcp://10.0.0.1:443',
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: '443',
    KUBERNETES_PORT_443_TCP_ADDR: '10.0.0.1',
    // Service links of services whose names look like ours.
    HTTP_SERVICE_HOST: '10.0.0.2',
    HTTP_SERVICE_PORT: '80',
    HTTP_PORT_80_TCP: 'tcp://10.0.0.2:80',
    HTTP_PORT_8080_TCP_ADDR: '10.0.0.2',
    HANDLER_SERVICE_HOST: '10.0.0.3',
    HANDLER_PORT: 'tcp://10.0.0.3:80',
    HTTP_HOSTS_PORT: 'tcp://10.0.0.4:80',
    SEED_SERVICE_PORT_HTTP: '80',
    LOG_PORT: 'tcp://10.0.0.5:514',
    // This project's own harnesses and examples.
    ORDERS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/orders',
    PAYMENTS_URL: 'http://payments',
    SLOW_HANDLER_MS: '100',
    HOLD_IMPORT: 'fauxqs',
    CHAOS_HANDLER_MS: '5',
    CHAOS_LOG_LEVEL: 'warn',
    BENCH_HANDLER_MS: '5',
    FAUXQS_PORT: '9324',
    DYNAMODB_LOCAL_PORT: '8000',
    npm_lifecycle_event: 'start',
    npm_package_name: 'sqs-idempotent-worker',
    npm_config_loglevel: 'warn',
    npm_config_cache: '/root/.npm',
    npm_node_execpath: '/usr/bin/node',
    npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js',
    INIT_CWD: '/app',
    COLOR: '0',
    EDITOR: 'vi',
    JEST_WORKER_ID: '1',
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: '/tmp',
    BUILDKITE: 'true',
    INVOCATION_ID: 'abc',
    JOURNAL_STREAM: '8:1234',
    NOTIFY_SOCKET: '/run/systemd/notify',
    LISTEN_FDS: '1',
    MAIL: '/var/mail/root',
    SSH_AUTH_SOCK: '/tmp/agent',
    DISPLAY: ':0',
    XDG_RUNTIME_DIR: '/run/user/0',
    LESSOPEN: '| /usr/bin/lesspipe %s',
    LS_COLORS: 'rs=0',
    JAVA_HOME: '/usr/lib/jvm/java-17',
    GOPATH: '/root/go',
    PYTHONPATH: '/app',
    CONFIG: '/etc/app.json',
    HEADLESS: 'true',
    TABLE: 'x',
    QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/other',
    SQS_ENDPOINT: 'http://localhost:9324',
  };

  it('leaves alone the variables shells, containers, Kubernetes, CI, npm, Node and AWS set', () => {
    expect(() => loadConfig(COMMON)).not.toThrow();
  });

  it("leaves alone every variable of this machine's own environment", () => {
    expect(() => loadConfig(process.env)).not.toThrow();
  });
});

describe('HTTP_HOST (issue 12)', () => {
  it.each([
    'not a host!',
    'exa_mple.com',
    '-leading.example',
    'a..b',
    '[::1]',
    'http://example.com',
    'x'.repeat(64),
  ])('rejects %j naming the variable and the rule', (host) => {
    const error = configError(() => loadConfig({ HTTP_HOST: host }));
    expect(error.variable).toBe('HTTP_HOST');
    expect(error.message).toContain('a host name or an IPv4 or IPv6 address');
  });

  it.each([
    '0.0.0.0',
    '127.0.0.1',
    '::',
    '::1',
    'localhost',
    'worker-1.internal',
    'fe80::1%lo',
    'EXAMPLE.com.',
  ])('accepts %j', (host) => {
    expect(loadConfig({ HTTP_HOST: host }).http.host).toBe(host);
  });
});

describe('MESSAGE_SCHEMA files that hold no schema (issue 12)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqs-worker-schema-'));
  const schemaFile = (text: string): string => {
    const path = join(dir, `${Buffer.from(text).toString('hex')}.json`);
    writeFileSync(path, text);
    return path;
  };

  it.each([
    ['null', 'null'],
    ['[]', 'an array'],
    ['5', 'a number'],
    ['"string"', 'a string'],
  ])('%s is a ConfigError naming MESSAGE_SCHEMA and the rule, not a TypeError', (text, kind) => {
    const error = configError(() => loadBodyCheck(schemaFile(text)));
    expect(error.variable).toBe('MESSAGE_SCHEMA');
    expect(error.message).toContain(
      `the file holds ${kind}: must be the path of a file holding a JSON Schema`,
    );
  });

  it('true and false are schemas (anything, nothing)', () => {
    const message = { body: { a: 1 }, rawBody: '{"a":1}' } as unknown as WorkerMessage;
    expect(loadBodyCheck(schemaFile('true'))(message)).toBeUndefined();
    expect(loadBodyCheck(schemaFile('false'))(message)?.code).toBe('SCHEMA_VIOLATION');
  });
});
