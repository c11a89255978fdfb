import { createApp, type App, type AppEndpoints, type AppOverrides } from '../../src/app/app.js';
import { createDynamoClient, createSqsClient } from '../../src/aws/clients.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import type { WorkerMessage } from '../../src/core/message.js';
import type { TestAws } from './aws.js';
import { useResource } from './hooks.js';
import { TEST_ENV } from './test-limits.js';
import { eventually } from './process.js';

/** Log lines kept in memory, as pino writes them (one JSON object per line). */
export class MemoryLog {
  readonly chunks: string[] = [];

  write(chunk: string): void {
    this.chunks.push(chunk);
  }

  get text(): string {
    return this.chunks.join('');
  }

  lines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface RunningApp {
  readonly app: App;
  readonly config: Config;
  readonly endpoints: AppEndpoints;
  readonly log: MemoryLog;
  /** `http://127.0.0.1:<port>` of the sidecar. */
  readonly http: string;
  metrics(): Promise<string>;
}

/**
 * The whole app in this process, in embedded mode (fauxqs and dynalite on random ports), with
 * the sidecar on a random loopback port, logs in memory, the tests' AWS timeouts
 * (test-limits.ts); resolves once /readyz says 200.
 */
export async function startEmbeddedApp(
  env: Record<string, string> = {},
  overrides: AppOverrides = {},
): Promise<RunningApp> {
  const config = loadConfig({
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    EMBEDDED_SQS_PORT: '0',
    EMBEDDED_DYNAMODB_PORT: '0',
    SQS_WAIT_TIME_SECONDS: '1',
    SHUTDOWN_TIMEOUT: '5',
    LOG_LEVEL: 'debug',
    ...TEST_ENV,
    ...env,
  });
  const log = new MemoryLog();
  const app = createApp(config, { logDestination: log, ...overrides });
  const endpoints = await app.start();
  const http = endpoints.http;
  await eventually(async () => ((await fetch(`${http}/readyz`)).status === 200 ? true : undefined));
  return {
    app,
    config,
    endpoints,
    log,
    http,
    metrics: async () => (await fetch(`${http}/metrics`)).text(),
  };
}

/** startEmbeddedApp for the tests of a describe block (or a file): stopped in its own `afterAll`. */
export function useEmbeddedApp(env: Record<string, string> = {}, overrides: AppOverrides = {}): RunningApp {
  return useResource(
    'useEmbeddedApp()',
    () => startEmbeddedApp(env, overrides),
    (running) => running.app.stop(),
  );
}

export interface AppOnEmulators {
  readonly app: App;
  readonly log: MemoryLog;
  /** The messages the handler was given, in order. */
  readonly handled: WorkerMessage[];
  /** Stops the app, then destroys its clients. */
  stop(): Promise<void>;
}

/**
 * The whole app (not started) on the test's emulators, reached at the config's endpoints (a proxy,
 * say) with the config's timeouts and the emulators' credentials, its logs in memory and a
 * handler that records each message.
 */
export function appOnEmulators(aws: TestAws, config: Config): AppOnEmulators {
  const settings = { ...config, credentials: aws.settings.credentials };
  const sqs = createSqsClient(settings);
  const dynamodb = createDynamoClient(settings);
  const log = new MemoryLog();
  const handled: WorkerMessage[] = [];
  const app = createApp(config, {
    logDestination: log,
    handler: (message) => void handled.push(message),
    sqs,
    dynamodb,
  });
  return {
    app,
    log,
    handled,
    async stop() {
      await app.stop();
      sqs.destroy();
      dynamodb.destroy();
    },
  };
}

/** The value of one sample of a Prometheus text exposition, e.g. sample(text, 'x_total', 'a="b"'). */
export function sample(metrics: string, name: string, labels = ''): number | undefined {
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = metrics.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length).split(' ')[0]);
}
