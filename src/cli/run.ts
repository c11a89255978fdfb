import { constants } from 'node:os';
import { createApp, openConnection } from '../app.js';
import { loadConfig, type Config } from '../config/load.js';
import { pino } from 'pino';
import { ConfigError, describeError, WorkerError } from '../core/errors.js';
import { createLogger } from '../observability/logger.js';
import { consume, dlq, produce, queue, records, table, type CommandContext } from './commands.js';

export const EXIT = { ok: 0, failure: 1, config: 2 } as const;

/** How long `emulators` waits for them to close on a signal before it gives up. */
const CLOSE_EMULATORS_MS = 5000;

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

/**
 * Parses the command line and runs one command; resolves to the process exit code. `stop` fires
 * on the first SIGTERM/SIGINT (main.ts listens from its first line; its reason is the signal's
 * name): `start` and `emulators` then stop cleanly and resolve to 0, at any moment of start-up
 * too; a one-shot command resolves at once to 128 + the signal's number, its work cut short.
 */
export async function runCli(argv: readonly string[], stop: AbortSignal): Promise<number> {
  const [command = 'help'] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  // A stop before the command began: the daemons have nothing to stop, the others did nothing.
  if (stop.aborted) return DAEMONS.has(command) ? EXIT.ok : interruptedCode(stop.reason as NodeJS.Signals);
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    return reportStartupError(error);
  }
  if (command === 'start') return start(config, stop);
  if (command === 'emulators') return emulators(config, stop);
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`unknown command: ${command}\n${USAGE}\n`);
    return EXIT.config;
  }
  // Commands print results on stdout; their logs go to stderr so the output stays parseable.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2));
  const ran = run(argv.slice(1), { config, logger, print: (line) => process.stdout.write(`${line}\n`) });
  try {
    return await Promise.race([ran.then(() => EXIT.ok), aborted(stop).then(interruptedCode)]);
  } catch (error) {
    return reportStartupError(error);
  }
}

/** The commands that run until a signal, and stop on it with exit code 0. */
const DAEMONS: ReadonlySet<string> = new Set(['start', 'emulators']);

const COMMANDS: Readonly<Record<string, (args: readonly string[], ctx: CommandContext) => Promise<void>>> = {
  produce,
  consume,
  records,
  table,
  queue,
  dlq,
};

/**
 * The worker until a stop is requested. A stop during start-up cancels the start (nothing starts
 * polling afterwards) and exits 0 like any other stop; a start that fails on its own closes what
 * it opened and exits 1 (2 for configuration). stop() is bounded (README, "Exit codes and
 * signals"): if it could not close everything in time, it rejects and the exit code is 1.
 */
async function start(config: Config, stop: AbortSignal): Promise<number> {
  const app = createApp(config);
  const stopped = aborted(stop).then(() => app.stop());
  try {
    await app.start();
  } catch (error) {
    // Failed on its own, or cancelled by the stop: either way stop() closes what start() opened.
    const failed = !stop.aborted;
    const closed = await (failed ? app.stop() : stopped).then(
      () => true,
      (stopError: unknown) => reportStopError(stopError),
    );
    if (failed) return reportStartupError(error);
    return closed ? EXIT.ok : EXIT.failure;
  }
  return stopped.then(
    () => EXIT.ok,
    (error: unknown) => (reportStopError(error), EXIT.failure),
  );
}

function reportStopError(error: unknown): false {
  process.stderr.write(`error while stopping: ${describeError(error)}\n`);
  return false;
}

/** Resolves with the signal's name once `stop` fires. */
function aborted(stop: AbortSignal): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    if (stop.aborted) resolve(stop.reason as NodeJS.Signals);
    else stop.addEventListener('abort', () => resolve(stop.reason as NodeJS.Signals), { once: true });
  });
}

/** 128 + the signal's number, as a shell reports a process the signal ended (130, 143). */
function interruptedCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** The embedded emulators alone, so produce/consume/records can be tried by hand, as the seed tools were. */
async function emulators(config: Config, stop: AbortSignal): Promise<number> {
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
  await aborted(stop);
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    connection.close().then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_EMULATORS_MS))),
  ]).catch((error: unknown) => reportStopError(error));
  clearTimeout(timer);
  if (!closed) process.stderr.write(`the emulators did not close within ${CLOSE_EMULATORS_MS} ms\n`);
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return closed ? EXIT.ok : EXIT.failure;
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
