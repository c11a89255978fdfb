import { createClients, openConnection } from '../app.js';
import type { Config } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import type { Connection } from '../aws/connect.js';
import { queueNameFromUrl } from '../aws/queues.js';
import type { Parsed } from './args.js';
import type { Output, Streams } from './output.js';

/** What a command gets: its parsed arguments, the configuration, where to print, the stop. */
export interface CommandContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly args: Parsed;
  readonly out: Output;
  readonly streams: Streams;
  /** Fires on the first SIGINT/SIGTERM: long commands stop at their next step and report. */
  readonly signal: AbortSignal;
  /** True when stdin and stderr are a terminal: a person can be asked. */
  readonly interactive: boolean;
  /** Asks a yes/no question on the terminal. */
  readonly confirm: (question: string) => Promise<boolean>;
}

/** What a command resolves to: 0, or 1 when it could not do all it was asked (it said why). */
export type CommandResult = number | void;

export type Command = (ctx: CommandContext) => Promise<CommandResult>;

export function flag<T extends string | number | boolean>(ctx: CommandContext, name: string): T | undefined {
  return ctx.args.flags[name] as T | undefined;
}

/** Runs with the queue (and its DLQ) reached: SQS and DynamoDB clients, closed afterwards. */
export async function withConnection<T>(ctx: CommandContext, run: (c: Connection) => Promise<T>): Promise<T> {
  const connection = await openConnection(ctx.config, 'client', ctx.logger);
  try {
    return await run(connection);
  } finally {
    await connection.close();
  }
}

/**
 * Runs with a DynamoDB client only, for the records commands: they touch no queue, so a missing
 * SQS is not their failure. The namespace is IDEMPOTENCY_NAMESPACE, else the queue's name (from
 * SQS_QUEUE_URL, or the embedded queue's), as the worker derives it.
 */
export async function withDynamo<T>(
  ctx: CommandContext,
  run: (clients: ReturnType<typeof createClients>, namespace: string) => Promise<T>,
): Promise<T> {
  const clients = createClients(ctx.config);
  const namespace =
    ctx.config.idempotency.namespace ??
    (ctx.config.queueUrl === undefined
      ? ctx.config.embedded.queueName
      : queueNameFromUrl(ctx.config.queueUrl));
  try {
    return await run(clients, namespace);
  } finally {
    clients.destroy();
  }
}
