import { parseArgs } from 'node:util';
import {
  createClients,
  createRuntime,
  createStore,
  defaultInstanceId,
  openConnection,
  skewMs,
} from '../app.js';
import { setTimeout } from 'node:timers/promises';
import type { Config } from '../config/load.js';
import { cacheQuietMs, clearWithCaches } from '../core/completed-cache.js';
import { systemClock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import {
  RECORD_STATUSES,
  isRecordStatus,
  namespacePrefix,
  type RecordStore,
} from '../core/idempotency-store.js';
import type { Logger } from '../core/logger.js';
import type { Outcome } from '../core/pipeline.js';
import { resolveHandler } from '../handlers/index.js';
import type { Connection } from '../aws/connect.js';
import { createQueuePair } from '../aws/queues.js';
import { listRecords, seedMessages } from '../seeding/seed.js';
import { createTable } from '../aws/table.js';
import { redriveDeadLetters, showDeadLetters } from './dlq.js';

type Print = (line: string) => void;

export interface CommandContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly print: Print;
}

/** Parses `--name value` options; unknown options are a usage error (exit 2). */
function options<T extends Record<string, { type: 'string' | 'boolean' }>>(args: readonly string[], spec: T) {
  try {
    return parseArgs({ args: [...args], options: spec, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new ConfigError('argv', (error as Error).message);
  }
}

function intOption(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `--${name}`,
      `--${name}=${JSON.stringify(value)} must be an integer from ${min} to ${max}`,
    );
  }
  return n;
}

async function withConnection<T>(ctx: CommandContext, run: (c: Connection) => Promise<T>): Promise<T> {
  const connection = await openConnection(ctx.config, 'client', ctx.logger);
  try {
    return await run(connection);
  } finally {
    await connection.close();
  }
}

/** `produce [--count N] [--duplicates D]`: what the seed tools' generator did. */
export async function produce(args: readonly string[], ctx: CommandContext): Promise<void> {
  const o = options(args, { count: { type: 'string' }, duplicates: { type: 'string' } });
  const count = intOption('count', o.count, 3, 0, 10_000);
  const duplicates = intOption('duplicates', o.duplicates, 0, 0, count);
  const result = await withConnection(ctx, (c) =>
    seedMessages(c.sqs, c.queueUrl, ctx.config.idempotency.keyAttribute, { count, duplicates }),
  );
  ctx.print(JSON.stringify(result));
}

/**
 * `consume [--count N]`: handles N messages (or, without --count, until a receive comes back
 * empty) with the configured handler and idempotency, prints the outcomes, and exits.
 */
export async function consume(args: readonly string[], ctx: CommandContext): Promise<void> {
  const o = options(args, { count: { type: 'string' } });
  const limit = o.count === undefined ? undefined : intOption('count', o.count, 1, 0, 1_000_000);
  const handler = await resolveHandler(ctx.config.handler, ctx.config);
  await withConnection(ctx, async (connection) => {
    const runtime = createRuntime(ctx.config, connection, {
      handler,
      logger: ctx.logger,
      clock: systemClock,
      instanceId: defaultInstanceId('-cli'),
      ...(limit === undefined ? {} : { receiveLimit: limit }),
    });
    const outcomes: Partial<Record<Outcome, number>> = {};
    let settled = 0;
    const done = new Promise<void>((resolve) => {
      runtime.on('message_settled', ({ message, processed }) => {
        outcomes[processed.outcome] = (outcomes[processed.outcome] ?? 0) + 1;
        ctx.print(
          JSON.stringify({ messageId: message.messageId, key: message.key, outcome: processed.outcome }),
        );
        settled += 1;
        if (limit !== undefined && settled >= limit) resolve();
      });
      if (limit === undefined) runtime.on('queue_empty', () => runtime.inFlight === 0 && resolve());
      if (limit === 0) resolve();
    });
    await runtime.start();
    await done;
    await runtime.stop(ctx.config.shutdownTimeoutMs);
    ctx.print(JSON.stringify({ consumed: settled, outcomes }));
  });
}

/**
 * `records show [--status S] [--limit N] [--cursor C]` (one page, as GET /records answers) and
 * `records clear` (this namespace's records, malformed ones included).
 */
export async function records(args: readonly string[], ctx: CommandContext): Promise<void> {
  const [action, ...rest] = args;
  await withConnection(ctx, async (c) => {
    const store: RecordStore = createStore(ctx.config, c);
    if (action === 'show') {
      const o = options(rest, {
        status: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
      });
      const status = o.status?.toUpperCase();
      if (status !== undefined && !isRecordStatus(status)) {
        throw new ConfigError('--status', `--status must be one of ${RECORD_STATUSES.join(', ')}`);
      }
      const query = {
        limit: intOption('limit', o.limit, 100, 1, 1000),
        ...(status === undefined ? {} : { status }),
        ...(o.cursor === undefined ? {} : { cursor: o.cursor }),
      };
      const page = await listRecords(store, c.namespace, query, systemClock.now());
      for (const record of page.records) ctx.print(JSON.stringify(record));
      if (page.next !== null) ctx.print(JSON.stringify({ next: page.next }));
    } else if (action === 'clear') {
      options(rest, {});
      const deleted = await clearWithCaches(
        () => store.bumpGeneration(c.namespace),
        () => store.clear(namespacePrefix(c.namespace)),
        { quietMs: cacheQuietMs(skewMs(ctx.config)), sleep: (ms) => setTimeout(ms) },
      );
      ctx.print(JSON.stringify({ deleted }));
    } else {
      throw new ConfigError('argv', 'usage: sqs-worker records show|clear');
    }
  });
}

/** `table create`: the idempotency table, on-demand, with TTL on expiresAt. */
export async function table(args: readonly string[], ctx: CommandContext): Promise<void> {
  if (args[0] !== 'create') throw new ConfigError('argv', 'usage: sqs-worker table create');
  const clients = createClients(ctx.config);
  try {
    const created = await createTable(clients.dynamodb, ctx.config.idempotency.table);
    ctx.print(JSON.stringify({ table: ctx.config.idempotency.table, ...created }));
  } finally {
    clients.destroy();
  }
}

/** `queue create --name NAME`: a queue and its dead-letter queue wired by a redrive policy. */
export async function queue(args: readonly string[], ctx: CommandContext): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'create') throw new ConfigError('argv', 'usage: sqs-worker queue create --name NAME');
  const o = options(rest, { name: { type: 'string' } });
  const clients = createClients(ctx.config);
  try {
    const pair = await createQueuePair(clients.sqs, o.name ?? ctx.config.embedded.queueName, {
      maxReceiveCount: ctx.config.maxReceiveCount,
      visibilityTimeoutSeconds: ctx.config.visibilityTimeoutSeconds,
    });
    ctx.print(JSON.stringify(pair));
  } finally {
    clients.destroy();
  }
}

/** `dlq show [--limit N]` and `dlq redrive [--count N]`. */
export async function dlq(args: readonly string[], ctx: CommandContext): Promise<void> {
  const [action, ...rest] = args;
  await withConnection(ctx, async (c) => {
    if (action === 'show') {
      const o = options(rest, { limit: { type: 'string' } });
      const limit = intOption('limit', o.limit, 10, 1, 10);
      for (const entry of await showDeadLetters(c, limit)) ctx.print(JSON.stringify(entry));
    } else if (action === 'redrive') {
      const o = options(rest, { count: { type: 'string' } });
      const count = intOption('count', o.count, 100, 0, 100_000);
      ctx.print(JSON.stringify({ moved: await redriveDeadLetters(c, count) }));
    } else {
      throw new ConfigError('argv', 'usage: sqs-worker dlq show|redrive');
    }
  });
}
