import { constants } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { createApp } from '../app/app.js';
import { VERSION } from '../app/parts.js';
import { loadConfig, type Config, type Environment } from '../config/load.js';
import { checkEmbeddedPorts } from '../config/machine.js';
import { pino } from 'pino';
import { ConfigError, describeError, WorkerError } from '../core/errors.js';
import { createLogger } from '../observability/logger.js';
import { awsSettings, connect } from '../aws/connect.js';
import { commandHelp, nearest, parseCommand, synopsis, usage, UsageError, type Parsed } from './args.js';
import type { Command, CommandContext } from './context.js';
import { DEFAULT_GIVE_UP_SECONDS, ReachabilityWatch } from './reachability.js';
import { createOutput, type Streams } from './output.js';
import { COMMAND_SPECS, findCommand, groupActions, type CommandSpec } from './spec.js';

export const EXIT = { ok: 0, failure: 1, config: 2 } as const;

/** How long `emulators` waits for them to close on a signal before it gives up. */
const CLOSE_EMULATORS_MS = 5000;

/**
 * How long a stoppable command may take, after the stop, to finish its step and report, beyond
 * SHUTDOWN_TIMEOUT (consume drains like the worker: SHUTDOWN_TIMEOUT plus the runtime's 5 s grace).
 */
const REPORT_AFTER_STOP_MS = 10_000;

/**
 * The environment a command reads its configuration from. One-shot commands default LOG_LEVEL to
 * warn (their stderr is for people and their stdout for scripts); a LOG_LEVEL set in the
 * environment, or any CONFIG_PROFILE (which may set it), is respected as it is.
 */
export function commandEnvironment(env: Environment, command: string): Environment {
  if (DAEMONS.has(command) || env.LOG_LEVEL !== undefined || env.CONFIG_PROFILE !== undefined) return env;
  return { ...env, LOG_LEVEL: 'warn' };
}

/**
 * Parses the command line and runs one command; resolves to the process exit code. `stop` fires
 * on the first SIGTERM/SIGINT (main.ts listens from its first line; its reason is the signal's
 * name): `start` and `emulators` then stop cleanly and resolve to 0, at any moment of start-up
 * too; produce, consume and dlq redrive finish their step, print what they did and resolve to
 * 128 + the signal's number; the other one-shot commands resolve to that at once.
 */
export async function runCli(
  argv: readonly string[],
  stop: AbortSignal,
  env: Environment = process.env,
  streams: Streams = process,
): Promise<number> {
  return (await runCommandLine(argv, stop, env, streams)).code;
}

/**
 * What runCli resolves to, and whether the command was abandoned with work still open (a stop of
 * a one-shot command, or a service that did not answer): the process should then exit at once.
 */
export interface CliOutcome {
  readonly code: number;
  readonly abandoned: boolean;
}

export async function runCommandLine(
  argv: readonly string[],
  stop: AbortSignal,
  env: Environment = process.env,
  streams: Streams = process,
): Promise<CliOutcome> {
  const code = await runParsed(argv, stop, env, streams);
  return typeof code === 'number' ? { code, abandoned: code > 128 } : code;
}

async function runParsed(
  argv: readonly string[],
  stop: AbortSignal,
  env: Environment,
  streams: Streams,
): Promise<number | CliOutcome> {
  const line = parseLine(argv, streams);
  if (typeof line === 'number') return line;
  const { spec, parsed } = line;
  // A stop before the command began: the daemons have nothing to stop, the others did nothing.
  if (stop.aborted) return DAEMONS.has(spec.name) ? EXIT.ok : interruptedCode(stop.reason as NodeJS.Signals);
  let config: Config;
  try {
    config = loadConfig(commandEnvironment(env, spec.name));
  } catch (error) {
    return reportError(error, undefined, streams);
  }
  if (spec.name === 'start') return start(config, stop);
  if (spec.name === 'emulators') return emulators(config, stop);
  return oneShot(spec, parsed, config, stop, streams);
}

/** The command and its arguments, or the exit code when that is all there is to do (help, errors). */
function parseLine(
  argv: readonly string[],
  streams: Streams,
): { spec: CommandSpec; parsed: Parsed } | number {
  const [command] = argv;
  // No command at all is a usage error, as in most CLIs: the usage on stderr, exit 2.
  if (command === undefined) {
    streams.stderr.write(`${usage(VERSION)}\n`);
    return EXIT.config;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    streams.stdout.write(`${usage(VERSION)}\n`);
    return EXIT.ok;
  }
  if (VERSION_WORDS.has(command)) {
    streams.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const group = groupActions(command);
  if (group.length > 0 && (argv[1] === '--help' || argv[1] === '-h')) {
    const specs = COMMAND_SPECS.filter((c) => c.name.startsWith(`${command} `));
    streams.stdout.write(
      `${specs.map((c) => `usage: sqs-worker ${synopsis(c)}\n  ${c.summary}`).join('\n')}\n`,
    );
    return EXIT.ok;
  }
  try {
    const found = findCommand(argv);
    if (!found) throw unknownCommand(argv);
    const parsed = parseCommand(found.spec, found.rest);
    if (parsed.flags.help !== true) return { spec: found.spec, parsed };
    streams.stdout.write(`${commandHelp(found.spec)}\n`);
    return EXIT.ok;
  } catch (error) {
    return reportError(error, undefined, streams);
  }
}

/** A command other than start and emulators: runs to its end, or to the stop (see runCli). */
async function oneShot(
  spec: CommandSpec,
  parsed: Parsed,
  config: Config,
  stop: AbortSignal,
  streams: Streams,
): Promise<number | CliOutcome> {
  // The one-shot commands (and what only they use) load when one runs: `start` never needs them.
  const { COMMANDS } = await import('./commands.js');
  const run = COMMANDS[spec.name];
  if (!run) return reportError(new UsageError(`unknown command: ${spec.name}`), config, streams);
  const watch = new ReachabilityWatch(
    ((parsed.flags['give-up'] as number | undefined) ?? DEFAULT_GIVE_UP_SECONDS) * 1000,
  );
  try {
    const gaveUp = watch.gaveUp.then((error) => ({
      code: reportError(error, config, streams),
      abandoned: true,
    }));
    return await Promise.race([runOneShot(spec, run, parsed, config, stop, streams, watch), gaveUp]);
  } finally {
    watch.dispose();
  }
}

async function runOneShot(
  spec: CommandSpec,
  run: Command,
  parsed: Parsed,
  config: Config,
  stop: AbortSignal,
  streams: Streams,
  watch: ReachabilityWatch,
): Promise<number> {
  const { STOPPABLE } = await import('./commands.js');
  // Commands print results on stdout; their logs go to stderr so the output stays parseable.
  const ctx: CommandContext = {
    config,
    logger: createLogger(config.logLevel, pino.destination(2)),
    args: parsed,
    out: createOutput(streams, parsed.flags.json === true),
    streams,
    signal: stop,
    interactive: process.stdin.isTTY === true && streams.stderr.isTTY === true,
    confirm: (question) => confirm(question, streams),
    watch,
  };
  const ran = run(ctx).then(
    (code) => code ?? EXIT.ok,
    (error: unknown) => reportError(error, config, streams),
  );
  const stopped = aborted(stop);
  if (!STOPPABLE.has(spec.name)) return Promise.race([ran, stopped.then(interruptedCode)]);
  // Stoppable: the command sees the stop, finishes its step and reports; bounded all the same.
  const boundMs = config.shutdownTimeoutMs + REPORT_AFTER_STOP_MS;
  const overdue = stopped.then(
    (signal) =>
      new Promise<number>((resolve) => {
        setTimeout(() => {
          streams.stderr.write(`${spec.name}: did not stop within ${boundMs} ms\n`);
          resolve(interruptedCode(signal));
        }, boundMs).unref();
      }),
  );
  return Promise.race([
    ran.then((code) => (stop.aborted ? interruptedCode(stop.reason as NodeJS.Signals) : code)),
    overdue,
  ]);
}

/** What prints the version: `-v` too, as most CLIs have it (no command has a verbose flag). */
const VERSION_WORDS: ReadonlySet<string> = new Set(['--version', '-v', '-V', 'version']);

function unknownCommand(argv: readonly string[]): UsageError {
  const [first = '', second] = argv;
  if (first.startsWith('-')) {
    // A flag before any command: only --help and --version go there; a misspelt one is suggested.
    const near = nearest(first.replace(/^-+/, ''), ['help', 'version']);
    return new UsageError(`unknown flag ${first}${near ? `; did you mean --${near}?` : ''}`);
  }
  const actions = groupActions(first);
  if (actions.length > 0) {
    const near = second === undefined ? undefined : nearest(second, actions);
    const what = second === undefined ? `${first} needs an action` : `unknown action ${second} for ${first}`;
    return new UsageError(`${what}: ${actions.join(', ')}${near ? `; did you mean ${first} ${near}?` : ''}`);
  }
  const names = [...new Set(COMMAND_SPECS.map((c) => c.name.split(' ')[0] as string))];
  const near = nearest(first, names);
  return new UsageError(`unknown command ${first}${near ? `; did you mean ${near}?` : ''}`);
}

async function confirm(question: string, streams: Streams): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: streams.stderr as NodeJS.WritableStream });
  try {
    const answer = await rl.question(`${question} Type yes to confirm: `);
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

/** The commands that run until a signal, and stop on it with exit code 0. */
const DAEMONS: ReadonlySet<string> = new Set(['start', 'emulators']);

/**
 * The worker until a stop is requested. A stop during start-up cancels the start (nothing starts
 * polling afterwards) and exits 0 like any other stop; a start that fails on its own closes what
 * it opened and exits 1 (2 for configuration). stop() is bounded (docs/operations.md, "Exit codes and
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
    if (failed) return reportStartupError(error, config);
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
    await checkEmbeddedPorts(config);
    connection = await connect(config, 'host', logger);
  } catch (error) {
    return reportStartupError(error, config);
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
  if (closed) logger.info({ signal: stop.reason as string }, 'emulators stopped');
  else process.stderr.write(`the emulators did not close within ${CLOSE_EMULATORS_MS} ms\n`);
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return closed ? EXIT.ok : EXIT.failure;
}

/** One line on stderr; exit 2 for configuration and usage errors, 1 for anything else. */
function reportStartupError(error: unknown, config: Config): number {
  return reportError(error, config, process);
}

/**
 * One line on stderr. Usage errors point at the command's --help; a refused connection names the
 * service (SQS or DynamoDB) whose endpoint refused it and how to start the emulators.
 */
export function reportError(error: unknown, config: Config | undefined, streams: Streams): number {
  if (error instanceof UsageError) {
    const help = error.command === undefined ? 'sqs-worker --help' : `sqs-worker ${error.command} --help`;
    streams.stderr.write(`usage error: ${error.message} (see '${help}')\n`);
    return EXIT.config;
  }
  if (error instanceof ConfigError) {
    streams.stderr.write(`config error: ${error.message}\n`);
    return EXIT.config;
  }
  const text = error instanceof WorkerError ? error.message : describeError(error);
  streams.stderr.write(`failed: ${text}${connectionHint(text, config)}\n`);
  return EXIT.failure;
}

function connectionHint(text: string, config: Config | undefined): string {
  const refused = /ECONNREFUSED (\S+?):(\d+)/.exec(text);
  if (!refused) return '';
  const address = `${refused[1]}:${refused[2]}`;
  const settings = config === undefined ? undefined : awsSettings(config);
  const service = [
    ['SQS', settings?.sqsEndpoint],
    ['DynamoDB', settings?.dynamodbEndpoint],
  ].find(([, endpoint]) => endpoint !== undefined && endpoint.includes(address))?.[0];
  const what =
    service === undefined
      ? `nothing listens on ${address}`
      : `${service} at ${address} refused the connection`;
  const embedded = config !== undefined && config.queueUrl === undefined;
  return embedded
    ? ` (${what}: run \`sqs-worker emulators\` or \`sqs-worker start\` (npm start) in another terminal, or set SQS_QUEUE_URL)`
    : ` (${what}: check ${service === 'DynamoDB' ? 'AWS_ENDPOINT_URL_DYNAMODB' : service === 'SQS' ? 'AWS_ENDPOINT_URL_SQS' : 'the endpoints'})`;
}
