import { createServer } from 'node:net';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../src/aws/clients.js';
import { createQueuePair } from '../../src/aws/queues.js';
import { TEST_AWS_CALLS } from './test-limits.js';
import { runCli, type RunningProcess } from './process.js';

export interface CliRun {
  readonly code: number | null;
  /** stdout, each line parsed as JSON. */
  readonly out: Record<string, unknown>[];
  readonly err: string;
  readonly stdout: string;
}

/**
 * `sqs-worker emulators` on random ports, and a way to run other commands against it, as a user
 * in a second terminal would (SQS_QUEUE_URL and the endpoints of the running emulators).
 */
export interface CliFixture {
  readonly env: Record<string, string>;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  /** An SQS client of the emulators, for the test's own checks. */
  readonly sqs: SQSClient;
  /** The emulators process (its stdout holds their log lines). */
  readonly emulators: RunningProcess;
  run(args: string[], env?: Record<string, string>): Promise<CliRun>;
  /** A fresh queue and DLQ in the emulators: the env that points commands at it (and its namespace). */
  queue(name: string): Promise<Record<string, string>>;
  /** Starts a command and leaves it running (to signal it). */
  spawn(args: string[], env?: Record<string, string>): RunningProcess;
  close(): Promise<void>;
}

export async function startCliFixture(extra: Record<string, string> = {}): Promise<CliFixture> {
  const emulators = runCli(['emulators'], {
    EMBEDDED_SQS_PORT: '0',
    EMBEDDED_DYNAMODB_PORT: '0',
    LOG_LEVEL: 'info',
    ...extra,
  });
  const up = await emulators.waitForLine((l) => l.msg === 'emulators running');
  const env = {
    SQS_QUEUE_URL: up.queueUrl as string,
    AWS_ENDPOINT_URL_SQS: up.sqsEndpoint as string,
    AWS_ENDPOINT_URL_DYNAMODB: up.dynamodbEndpoint as string,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    SQS_WAIT_TIME_SECONDS: '1',
    // SQS_QUEUE_URL is set, so `consume` and `start` need a handler named (issue 21).
    HANDLER: 'log',
    ...extra,
  };
  const sqs = createSqsClient({
    region: 'us-east-1',
    sqsEndpoint: env.AWS_ENDPOINT_URL_SQS,
    dynamodbEndpoint: undefined,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    awsCalls: TEST_AWS_CALLS,
  });
  const spawn = (args: string[], more: Record<string, string> = {}) => runCli(args, { ...env, ...more });
  return {
    env,
    queueUrl: up.queueUrl as string,
    dlqUrl: up.dlqUrl as string,
    sqs,
    emulators,
    spawn,
    async queue(name) {
      const pair = await createQueuePair(sqs, name, { maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
      return { SQS_QUEUE_URL: pair.queueUrl };
    },
    async run(args, more = {}) {
      const cli = spawn(args, more);
      const { code } = await cli.exit();
      return { code, out: cli.lines, err: cli.stderr(), stdout: cli.stdout() };
    },
    async close() {
      sqs.destroy();
      emulators.child.kill('SIGTERM');
      await emulators.exit();
    },
  };
}

/** A loopback port nothing listens on (it was free a moment ago, and is closed again). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}
