import { createApp, openConnection } from '../app.js';
import { loadConfig, type Config } from '../config/load.js';
import { pino } from 'pino';
import { ConfigError, describeError, WorkerError } from '../core/errors.js';
import { createLogger } from '../observability/logger.js';
import { consume, dlq, produce, queue, records, table, type CommandContext } from './commands.js';

export const EXIT = { ok: 0, failure: 1, config: 2 } as const;

const USAGE = `usage: sqs-worker <command> [options]

commands:
  start                                run the worker and its HTTP sidecar until SIGTERM or SIGINT
  emulators                            run only the embedded SQS and DynamoDB (queue, DLQ, table), no worker
  produce [--count N] [--duplicates D] send N messages with distinct keys, then D re-sends
  consume [--count N]                  handle N messages (default: until the queue is empty), then exit
  records show [--status S] [--limit N] [--cursor C]
                                       list idempotency records (S: IN_PROGRESS, COMPLETED, FAILED)
  records clear                        delete this namespace's idempotency records
  table create                         create the idempotency table (on-demand, TTL on expiresAt)
  queue create [--name NAME]           create a queue and its dead-letter queue <name>-dlq
  dlq show [--limit N]                 up to 10 dead-lettered messages with their reason (left in place)
  dlq redrive [--count N]              move dead-lettered messages back to the queue (default 100)

Without SQS_QUEUE_URL, commands other than start talk to the embedded emulators of a running
'sqs-worker start' on this machine. Configuration comes from environment variables; see README.md.

Configuration comes from environment variables; see README.md.`;

/** Parses the command line and runs one command; resolves to the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [command = 'help'] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    return reportStartupError(error);
  }
  if (command === 'start') return start(config);
  if (command === 'emulators') return emulators(config);
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`unknown command: ${command}\n${USAGE}\n`);
    return EXIT.config;
  }
  // Commands print results on stdout; their logs go to stderr so the output stays parseable.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2));
  try {
    await run(argv.slice(1), { config, logger, print: (line) => process.stdout.write(`${line}\n`) });
    return EXIT.ok;
  } catch (error) {
    return reportStartupError(error);
  }
}

const COMMANDS: Readonly<Record<string, (args: readonly string[], ctx: CommandContext) => Promise<void>>> = {
  produce,
  consume,
  records,
  table,
  queue,
  dlq,
};

async function start(config: Config): Promise<number> {
  const app = createApp(config);
  // Listening from the start: a signal during start-up stops the app as soon as it arrives.
  const stopped = untilSignal()
    .then(() => app.stop())
    .catch((error: unknown) => void process.stderr.write(`error while stopping: ${describeError(error)}\n`));
  try {
    await app.start();
  } catch (error) {
    await app.stop().catch(() => {});
    return reportStartupError(error);
  }
  await stopped;
  return EXIT.ok;
}

/** Resolves on the first SIGTERM or SIGINT. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGTERM', done);
      process.off('SIGINT', done);
      resolve();
    };
    process.on('SIGTERM', done);
    process.on('SIGINT', done);
  });
}

/** The embedded emulators alone, so produce/consume/records can be tried by hand, as the seed tools were. */
async function emulators(config: Config): Promise<number> {
  if (config.queueUrl !== undefined) {
    process.stderr.write('config error: emulators runs only without SQS_QUEUE_URL\n');
    return EXIT.config;
  }
  const logger = createLogger(config.logLevel);
  let connection;
  try {
    connection = await openConnection(config, 'host', logger);
  } catch (error) {
    return reportStartupError(error);
  }
  logger.info(
    {
      queueUrl: connection.queueUrl,
      dlqUrl: connection.dlqUrl,
      sqsEndpoint: connection.aws.sqsEndpoint,
      dynamodbEndpoint: connection.aws.dynamodbEndpoint,
    },
    'emulators running',
  );
  await untilSignal();
  await connection.close();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return EXIT.ok;
}

/** One line on stderr; exit 2 for configuration errors, 1 for anything else. */
function reportStartupError(error: unknown): number {
  if (error instanceof ConfigError) {
    process.stderr.write(`config error: ${error.message}\n`);
    return EXIT.config;
  }
  const text = error instanceof WorkerError ? error.message : describeError(error);
  const hint = /ECONNREFUSED 127\.0\.0\.1/.test(text)
    ? ' (is `npm start` running, or SQS_QUEUE_URL set?)'
    : '';
  process.stderr.write(`failed: ${text}${hint}\n`);
  return EXIT.failure;
}
