import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createClients } from '../app/parts.js';
import { connect, type Connection } from '../aws/connect.js';
import type { Config } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import { queueNameFromUrl } from '../aws/queues.js';
import type { Parsed } from './args.js';
import type { Output, Streams } from './output.js';
import type { ReachabilityWatch } from './reachability.js';

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
  /** Watches the services' answers, to give up on one that does not answer (--give-up). */
  readonly watch?: ReachabilityWatch;
}

/** What a command resolves to: 0, or 1 when it could not do all it was asked (it said why). */
export type CommandResult = number | void;

export type Command = (ctx: CommandContext) => Promise<CommandResult>;

export function flag<T extends string | number | boolean>(ctx: CommandContext, name: string): T | undefined {
  return ctx.args.flags[name] as T | undefined;
}

export interface CommandClients {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  destroy(): void;
}

/**
 * SQS and DynamoDB clients for a command: the configured AWS settings, or with no SQS_QUEUE_URL
 * the emulators of a daemon on this machine; each watched (ctx.watch) so that a service that
 * stops answering makes the command give up. The caller destroys them.
 */
export function commandClients(ctx: CommandContext): CommandClients {
  const clients = createClients(ctx.config);
  const { sqsEndpoint, dynamodbEndpoint, region } = clients.settings;
  ctx.watch?.watch(clients.sqs, 'SQS', sqsEndpoint ?? `https://sqs.${region}.amazonaws.com`);
  ctx.watch?.watch(
    clients.dynamodb,
    'DynamoDB',
    dynamodbEndpoint ?? `https://dynamodb.${region}.amazonaws.com`,
  );
  return clients;
}

/** Runs with the queue (and its DLQ) reached: SQS and DynamoDB clients, closed afterwards. */
export async function withConnection<T>(ctx: CommandContext, run: (c: Connection) => Promise<T>): Promise<T> {
  const clients = commandClients(ctx);
  try {
    const connection = await connect(ctx.config, 'client', ctx.logger, clients);
    try {
      return await run(connection);
    } finally {
      await connection.close();
    }
  } finally {
    clients.destroy();
  }
}

/**
 * Runs with a DynamoDB client only, for the records commands: they touch no queue, so a missing
 * SQS is not their failure. The namespace is IDEMPOTENCY_NAMESPACE, else the queue's name (from
 * SQS_QUEUE_URL, or the embedded queue's), as the worker derives it.
 */
export async function withDynamo<T>(
  ctx: CommandContext,
  run: (clients: CommandClients, namespace: string) => Promise<T>,
): Promise<T> {
  const clients = commandClients(ctx);
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
