import { GetQueueAttributesCommand, PurgeQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { bodyCheckFor, createRuntime, defaultInstanceId } from '../app/parts.js';
import { withOverrides } from '../config/load.js';
import { systemClock } from '../core/clock.js';
import type { Outcome } from '../core/pipeline.js';
import { resolveHandler } from '../handlers/index.js';
import { createQueuePair, queueNameFromUrl } from '../aws/queues.js';
import { createTable } from '../aws/table.js';
import { UsageError } from './args.js';
import {
  commandClients,
  flag,
  withConnection,
  type Command,
  type CommandContext,
  type CommandResult,
} from './context.js';
import { deadLetterDepth, deadLetterQueues, redriveDeadLetters, showDeadLetters } from './dlq.js';
import { Progress } from './output.js';
import { produce } from './produce.js';
import { recordsClear, recordsForget, recordsGet, recordsShow } from './records.js';

/**
 * `consume`: with `--count N`, handles N messages (waiting for them); without, until one receive
 * of `--wait` seconds comes back empty. Prints each outcome and a summary. A stop (Ctrl-C) stops
 * receiving, lets the messages in hand finish, and prints the summary.
 */
async function consume(ctx: CommandContext): Promise<CommandResult> {
  const limit = flag<number>(ctx, 'count');
  const config =
    limit === undefined
      ? withOverrides(ctx.config, { waitTimeSeconds: flag<number>(ctx, 'wait') ?? 1 })
      : ctx.config;
  const handler = await resolveHandler(config.handler, config);
  const validate = await bodyCheckFor(config.messageSchema);
  await withConnection({ ...ctx, config }, async (connection) => {
    const runtime = createRuntime(config, connection, {
      handler,
      logger: ctx.logger,
      clock: systemClock,
      instanceId: defaultInstanceId('-cli'),
      receiveLimit: limit,
      validate,
    });
    const outcomes: Partial<Record<Outcome, number>> = {};
    let settled = 0;
    const done = new Promise<void>((resolve) => {
      runtime.on('message_settled', ({ message, processed }) => {
        outcomes[processed.outcome] = (outcomes[processed.outcome] ?? 0) + 1;
        if (ctx.out.json) {
          ctx.out.item({ messageId: message.messageId, key: message.key, outcome: processed.outcome });
        }
        settled += 1;
        if (limit !== undefined && settled >= limit) resolve();
      });
      if (limit === undefined) runtime.on('queue_empty', () => runtime.inFlight === 0 && resolve());
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await runtime.start();
    await done;
    await runtime.stop(config.shutdownTimeoutMs);
    ctx.out.item({ consumed: settled, outcomes, ...(ctx.signal.aborted ? { interrupted: true } : {}) });
  });
}

/** `table create`: the idempotency table; TTL reported as unsupported where the store has none. */
async function tableCreate(ctx: CommandContext): Promise<CommandResult> {
  const clients = commandClients(ctx);
  try {
    const created = await createTable(clients.dynamodb, ctx.config.idempotency.table);
    ctx.out.item({ table: ctx.config.idempotency.table, ...created });
  } finally {
    clients.destroy();
  }
}

/** SQS's longest queue name; the dead-letter queue's name adds `-dlq` (before `.fifo`). */
const MAX_QUEUE_NAME = 80;
const DLQ_SUFFIX = '-dlq';

/**
 * Why `name` cannot be a queue whose dead-letter queue NAME-dlq is one too, or undefined: SQS
 * takes 1 to 80 characters of a-z, A-Z, 0-9, _ and -, a FIFO queue's ending in `.fifo`.
 */
export function queueNameProblem(name: string): string | undefined {
  const fifo = name.endsWith('.fifo');
  const base = fifo ? name.slice(0, -'.fifo'.length) : name;
  const longest = MAX_QUEUE_NAME - DLQ_SUFFIX.length - (fifo ? '.fifo'.length : 0);
  if (/^[A-Za-z0-9_-]+$/.test(base) && base.length <= longest) return undefined;
  return (
    `--name ${JSON.stringify(name)} is not an SQS queue name: 1 to ${MAX_QUEUE_NAME - DLQ_SUFFIX.length} ` +
    `characters of a-z, A-Z, 0-9, _ and - (a FIFO queue's end in .fifo, ${longest} before it), ` +
    `so that its dead-letter queue NAME${DLQ_SUFFIX} fits SQS's ${MAX_QUEUE_NAME}`
  );
}

/** `queue create --name NAME`: a queue and its dead-letter queue wired by a redrive policy. */
async function queueCreate(ctx: CommandContext): Promise<CommandResult> {
  const name = flag<string>(ctx, 'name') ?? ctx.config.embedded.queueName;
  const problem = queueNameProblem(name);
  if (problem !== undefined) throw new UsageError(problem, 'queue create');
  const clients = commandClients(ctx);
  try {
    const pair = await createQueuePair(clients.sqs, name, {
      maxReceiveCount: ctx.config.maxReceiveCount,
      visibilityTimeoutSeconds: ctx.config.visibilityTimeoutSeconds,
    });
    ctx.out.item(pair);
  } finally {
    clients.destroy();
  }
}

async function counts(sqs: SQSClient, queueUrl: string) {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const n = (name: keyof NonNullable<typeof out.Attributes>) => Number(out.Attributes?.[name] ?? 0);
  return {
    queue: queueNameFromUrl(queueUrl),
    visible: n('ApproximateNumberOfMessages'),
    inFlight: n('ApproximateNumberOfMessagesNotVisible'),
    delayed: n('ApproximateNumberOfMessagesDelayed'),
    url: queueUrl,
  };
}

/** `queue stats`: SQS's approximate counts for the queue and its dead-letter queue. */
async function queueStats(ctx: CommandContext): Promise<CommandResult> {
  await withConnection(ctx, async (c) => {
    const rows = [{ role: 'queue', ...(await counts(c.sqs, c.queueUrl)) }];
    if (c.dlqUrl) rows.push({ role: 'dlq', ...(await counts(c.sqs, c.dlqUrl)) });
    ctx.out.rows(rows, ['role', 'queue', 'visible', 'inFlight', 'delayed']);
  });
}

/**
 * `queue purge [--yes] [--dlq]`: PurgeQueue (SQS allows one a minute per queue). Asks on a
 * terminal and refuses without --yes elsewhere, as `records clear` does.
 */
async function queuePurge(ctx: CommandContext): Promise<CommandResult> {
  if (flag(ctx, 'yes') !== true && !ctx.interactive) {
    throw new UsageError(
      'queue purge deletes every message: pass --yes (nothing asks when not on a terminal)',
      'queue purge',
    );
  }
  return withConnection(ctx, async (c) => {
    const target = flag(ctx, 'dlq') === true ? deadLetterQueues(c, '').dlqUrl : c.queueUrl;
    if (flag(ctx, 'yes') !== true) {
      const asked = await ctx.confirm(`Delete every message of queue ${queueNameFromUrl(target)}?`);
      if (!asked) {
        ctx.streams.stderr.write('queue purge: nothing deleted (not confirmed)\n');
        return 1;
      }
    }
    await c.sqs.send(new PurgeQueueCommand({ QueueUrl: target }));
    ctx.out.item({ purged: queueNameFromUrl(target), url: target });
    return 0;
  });
}

/** `dlq show [--limit N]`. */
async function dlqShow(ctx: CommandContext): Promise<CommandResult> {
  await withConnection(ctx, async (c) => {
    const q = deadLetterQueues(c, ctx.config.idempotency.keyAttribute, ctx.config.idempotency.table);
    const letters = await showDeadLetters(q, flag<number>(ctx, 'limit') ?? 10);
    ctx.out.rows(letters, ['key', 'reason', 'attempts', 'receiveCount', 'detail', 'body']);
  });
}

/**
 * `dlq redrive [--count N]`: progress on stderr; a stop ends it between batches. Reports the
 * distinct messages moved (each at most once, see redriveDeadLetters).
 */
async function dlqRedrive(ctx: CommandContext): Promise<CommandResult> {
  return withConnection(ctx, async (c) => {
    const q = deadLetterQueues(c, ctx.config.idempotency.keyAttribute, ctx.config.idempotency.table);
    // Default: the messages in the dead-letter queue now; each is moved at most once anyway.
    const count = flag<number>(ctx, 'count') ?? (await deadLetterDepth(q));
    const progress = new Progress(ctx.streams.stderr, 'redrive', count);
    const report = await redriveDeadLetters(q, count, {
      signal: ctx.signal,
      onProgress: (_, handled) => progress.update(handled),
    });
    progress.finish();
    ctx.out.item({
      moved: report.moved,
      notSent: report.notSent,
      notDeleted: report.notDeleted.length,
      ...(ctx.signal.aborted ? { interrupted: true } : {}),
    });
    if (report.notDeleted.length === 0 && report.notSent === 0) return 0;
    ctx.out.rows(report.notDeleted);
    ctx.streams.stderr.write(
      `dlq redrive: ${report.notSent} not sent (left in the dead-letter queue), ${report.notDeleted.length} sent ` +
        'but not deleted (now in both queues; their keys make the second copy a duplicate)\n',
    );
    return 1;
  });
}

/** The one-shot commands by spec name (start and emulators are run.ts's own). */
export const COMMANDS: Readonly<Record<string, Command>> = {
  produce,
  consume,
  'records show': recordsShow,
  'records get': recordsGet,
  'records forget': recordsForget,
  'records clear': recordsClear,
  'table create': tableCreate,
  'queue create': queueCreate,
  'queue stats': queueStats,
  'queue purge': queuePurge,
  'dlq show': dlqShow,
  'dlq redrive': dlqRedrive,
};

/** Commands that stop on Ctrl-C at their next step and report what they did. */
export const STOPPABLE: ReadonlySet<string> = new Set(['produce', 'consume', 'dlq redrive']);
