import { createApp } from '../app.js';
import { loadConfig, type Config } from '../config/load.js';
import { ConfigError, describeError, WorkerError } from '../core/errors.js';

export const EXIT = { ok: 0, failure: 1, config: 2 } as const;

const USAGE = `usage: sqs-worker <command>

commands:
  start     run the worker and its HTTP sidecar until SIGTERM or SIGINT

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
  switch (command) {
    case 'start':
      return start(config);
    default:
      process.stderr.write(`unknown command: ${command}\n${USAGE}\n`);
      return EXIT.config;
  }
}

async function start(config: Config): Promise<number> {
  const app = createApp(config);
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      void app.stop().then(resolve, (error: unknown) => {
        process.stderr.write(`error while stopping: ${describeError(error)}\n`);
        resolve();
      });
      void signal;
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  try {
    await app.start();
  } catch (error) {
    await app.stop().catch(() => {});
    return reportStartupError(error);
  }
  await stopped;
  return EXIT.ok;
}

/** One line on stderr; exit 2 for configuration errors, 1 for anything else. */
function reportStartupError(error: unknown): number {
  if (error instanceof ConfigError) {
    process.stderr.write(`config error: ${error.message}\n`);
    return EXIT.config;
  }
  const text = error instanceof WorkerError ? error.message : describeError(error);
  process.stderr.write(`startup failed: ${text}\n`);
  return EXIT.failure;
}
