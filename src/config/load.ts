import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { variables, type VariableName, type VariableSpec } from './schema.js';

export type Environment = Readonly<Record<string, string | undefined>>;

type Raw = Record<VariableName, unknown>;

export interface Config {
  readonly region: string;
  readonly sqsEndpoint: string | undefined;
  readonly dynamodbEndpoint: string | undefined;
  /** undefined means embedded mode: the queue is created in the in-process emulator. */
  readonly queueUrl: string | undefined;
  readonly waitTimeSeconds: number;
  readonly visibilityTimeoutSeconds: number;
  readonly batchSize: number;
  readonly maxInFlight: number;
  readonly shutdownTimeoutMs: number;
  /** 0: no timeout. */
  readonly handlerTimeoutMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** Path of a JSON Schema every body must satisfy. */
  readonly messageSchema: string | undefined;
  readonly webhook: { readonly url: string | undefined; readonly timeoutMs: number };
  readonly seed: {
    /** undefined: on in embedded mode only. */
    readonly enabled: boolean | undefined;
    readonly token: string | undefined;
    readonly ratePerMinute: number;
  };
  /** 0: off. */
  readonly queueMetricsIntervalMs: number;
  readonly health: { readonly maxEventLoopDelayMs: number; readonly maxPollFailures: number };
  readonly idempotency: {
    readonly table: string;
    readonly keyAttribute: string;
    /** undefined: derived from the queue name once the queue URL is known. */
    readonly namespace: string | undefined;
    readonly retentionSeconds: number;
    /** Completed keys kept in memory; 0: none. */
    readonly cacheSize: number;
  };
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly handler: string;
  readonly embedded: {
    readonly sqsPort: number;
    readonly dynamodbPort: number;
    readonly queueName: string;
  };
  readonly maxReceiveCount: number;
}

export interface LoadOptions {
  /** Folder holding profile files; default `config/` under the working directory. */
  readonly configDir?: string;
}

/**
 * The only reader of process.env. Validates every variable against its rule, applies defaults,
 * and returns a frozen Config. Throws ConfigError naming the first variable that is wrong.
 */
export function loadConfig(env: Environment = process.env, options: LoadOptions = {}): Config {
  const merged = { ...readProfile(env, options.configDir), ...definedOnly(env) };
  const raw = {} as Record<string, unknown>;
  for (const [name, spec] of Object.entries(variables) as [VariableName, VariableSpec][]) {
    raw[name] = parseVariable(name, spec, merged[name]);
  }
  const config = toConfig(raw as Raw);
  crossValidate(config);
  return deepFreeze(config);
}

/** Rules that involve more than one variable. */
function crossValidate(config: Config): void {
  if (config.backoff.baseMs > config.backoff.maxMs) {
    throw new ConfigError('RETRY_BACKOFF_BASE', 'RETRY_BACKOFF_BASE must not exceed RETRY_BACKOFF_MAX');
  }
  if (config.handler === 'webhook' && config.webhook.url === undefined) {
    throw new ConfigError('WEBHOOK_URL', 'WEBHOOK_URL is required when HANDLER=webhook');
  }
  if (config.queueUrl !== undefined && config.seed.enabled === true && config.seed.token === undefined) {
    throw new ConfigError(
      'SEED_TOKEN',
      'SEED_TOKEN is required when SEED_ENABLED=true outside embedded mode',
    );
  }
}

function parseVariable(name: string, spec: VariableSpec, value: string | undefined): unknown {
  const input = value === undefined || value === '' ? spec.default : value;
  if (input === undefined) return undefined;
  const result = spec.schema.safeParse(input);
  if (result.success) return result.data;
  const problem = result.error.issues[0]?.message ?? 'invalid';
  const shown = spec.secret ? '<redacted>' : JSON.stringify(input);
  throw new ConfigError(name, `${name}=${shown} is invalid (${problem}): must be ${spec.rule}`);
}

function readProfile(env: Environment, configDir = resolve('config')): Record<string, string> {
  const profile = env.CONFIG_PROFILE;
  if (!profile) return {};
  parseVariable('CONFIG_PROFILE', variables.CONFIG_PROFILE, profile);
  const file = resolve(configDir, `${profile}.json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError(
      'CONFIG_PROFILE',
      `CONFIG_PROFILE=${JSON.stringify(profile)}: cannot read ${file}`,
      {
        cause,
      },
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('CONFIG_PROFILE', `${file} must hold a JSON object of variable names to values`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in variables) || key === 'CONFIG_PROFILE') {
      throw new ConfigError(key, `${file}: ${key} is not a known variable`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(key, `${file}: ${key} must be a string, number or boolean`);
    }
    out[key] = String(value);
  }
  return out;
}

function definedOnly(env: Environment): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(variables)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

function toConfig(raw: Raw): Config {
  return {
    region: raw.AWS_REGION as string,
    sqsEndpoint: raw.AWS_ENDPOINT_URL_SQS as string | undefined,
    dynamodbEndpoint: raw.AWS_ENDPOINT_URL_DYNAMODB as string | undefined,
    queueUrl: raw.SQS_QUEUE_URL as string | undefined,
    waitTimeSeconds: raw.SQS_WAIT_TIME_SECONDS as number,
    visibilityTimeoutSeconds: raw.SQS_VISIBILITY_TIMEOUT as number,
    batchSize: raw.SQS_BATCH_SIZE as number,
    maxInFlight: raw.MAX_IN_FLIGHT as number,
    shutdownTimeoutMs: ms(raw.SHUTDOWN_TIMEOUT),
    handlerTimeoutMs: ms(raw.HANDLER_TIMEOUT),
    backoff: { baseMs: ms(raw.RETRY_BACKOFF_BASE), maxMs: ms(raw.RETRY_BACKOFF_MAX) },
    messageSchema: raw.MESSAGE_SCHEMA as string | undefined,
    webhook: { url: raw.WEBHOOK_URL as string | undefined, timeoutMs: ms(raw.WEBHOOK_TIMEOUT) },
    seed: {
      enabled: raw.SEED_ENABLED as boolean | undefined,
      token: raw.SEED_TOKEN as string | undefined,
      ratePerMinute: raw.SEED_RATE_LIMIT as number,
    },
    queueMetricsIntervalMs: ms(raw.QUEUE_METRICS_INTERVAL),
    health: {
      maxEventLoopDelayMs: ms(raw.HEALTH_MAX_EVENT_LOOP_DELAY),
      maxPollFailures: raw.READY_MAX_POLL_FAILURES as number,
    },
    idempotency: {
      table: raw.IDEMPOTENCY_TABLE as string,
      keyAttribute: raw.IDEMPOTENCY_KEY_ATTRIBUTE as string,
      namespace: raw.IDEMPOTENCY_NAMESPACE as string | undefined,
      retentionSeconds: raw.IDEMPOTENCY_RETENTION_SECONDS as number,
      cacheSize: raw.IDEMPOTENCY_CACHE_SIZE as number,
    },
    http: { host: raw.HTTP_HOST as string, port: raw.HTTP_PORT as number },
    logLevel: raw.LOG_LEVEL as Config['logLevel'],
    handler: raw.HANDLER as string,
    embedded: {
      sqsPort: raw.EMBEDDED_SQS_PORT as number,
      dynamodbPort: raw.EMBEDDED_DYNAMODB_PORT as number,
      queueName: raw.EMBEDDED_QUEUE_NAME as string,
    },
    maxReceiveCount: raw.MAX_RECEIVE_COUNT as number,
  };
}

function ms(seconds: unknown): number {
  return Math.round((seconds as number) * 1000);
}

/** A copy of `config` with some fields replaced, frozen again (for tests and library users). */
export function withOverrides(config: Config, overrides: DeepPartial<Config>): Config {
  return deepFreeze(merge(config, overrides) as Config);
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

function merge(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = merge(base[key], value);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (isPlainObject(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
