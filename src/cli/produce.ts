import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { VERSION } from '../app/parts.js';
import { describeError } from '../core/errors.js';
import { withProducerSpan } from '../observability/tracing.js';
import { isFifoQueue } from '../aws/queues.js';
import {
  inEnvelope,
  inEnvelopes,
  isProblem,
  SEED_ENVELOPES,
  type SeedEnvelope,
} from '../seeding/envelopes.js';
import { explicit, generateMessages, SeedInputError, type ExplicitMessage } from '../seeding/seed.js';
import { sendAll, type OutgoingMessage, type SendFailure } from '../seeding/send.js';
import { messageProblem } from '../seeding/validate.js';
import { UsageError } from './args.js';
import { flag, withConnection, type CommandContext, type CommandResult } from './context.js';
import { Progress } from './output.js';

/** Failures listed one by one in the summary; more are counted. */
const LISTED_FAILURES = 100;

/**
 * `produce`: generated messages (`--count`, `--duplicates`) or a JSON-lines file, sent in batches
 * of 10 with several in flight, with progress on stderr and one summary on stdout. Entries SQS
 * fails are retried, then listed; a stop (Ctrl-C) ends it after the batches in flight, with the
 * summary of what was sent.
 */
export async function produce(ctx: CommandContext): Promise<CommandResult> {
  const file = flag<string>(ctx, 'file');
  if (file !== undefined && (flag(ctx, 'count') !== undefined || flag(ctx, 'duplicates') !== undefined)) {
    throw new UsageError(
      '--file sends the messages of the file: give no --count or --duplicates with it',
      'produce',
    );
  }
  const envelope = envelopeFlag(ctx);
  const fileMessages =
    file === undefined ? undefined : await readMessages(file, ctx.config.idempotency.keyAttribute);
  return withConnection(ctx, async (c) => {
    const fifo = isFifoQueue(c.queueUrl);
    const source = inEnvelopeOf(envelope, file, messageSource(ctx, fifo, file, fileMessages));
    const rate = flag<number>(ctx, 'rate');
    const progress = new Progress(ctx.streams.stderr, 'produce', source.total);
    const started = Date.now();
    // With tracing configured (OTEL_*), the run is one PRODUCER span whose context every message
    // carries (traceparent), so the workers' deliveries link to it.
    const tracing = { logger: ctx.logger, serviceVersion: VERSION };
    const report = await withProducerSpan(ctx.config.tracing, tracing, c.queueUrl, (attributes) =>
      sendAll(c.sqs, c.queueUrl, ctx.config.idempotency.keyAttribute, source.messages, {
        signal: ctx.signal,
        // FIFO with shared groups keeps each group's order: one batch in flight.
        ordered: fifo && (flag(ctx, 'group') !== undefined || file !== undefined),
        ratePerSecond: rate,
        attributes,
        onProgress: ({ sent, failed }) => progress.update(sent + failed),
      }),
    );
    progress.finish();
    const seconds = (Date.now() - started) / 1000;
    ctx.out.item({
      sent: report.sent,
      failed: report.failed.length,
      duplicates: source.duplicates,
      unsent: source.total - report.sent - report.failed.length,
      seconds: Number(seconds.toFixed(3)),
      msgsPerSecond: Math.round(report.sent / Math.max(seconds, 0.001)),
      // Spreads: the text output prints every key it is given, undefined too.
      ...(source.keyPrefix === undefined ? {} : { keyPrefix: source.keyPrefix }),
      ...(report.interrupted ? { interrupted: true } : {}),
    });
    return listFailures(ctx, report.failed);
  });
}

interface MessageSource {
  readonly messages: Iterable<OutgoingMessage>;
  readonly total: number;
  /** Re-sends of a key already sent. */
  readonly duplicates: number;
  /** Generated keys are this and 1..count. */
  readonly keyPrefix?: string;
}

/** The file's messages, or generated ones (made as they are sent). */
function messageSource(
  ctx: CommandContext,
  fifo: boolean,
  file: string | undefined,
  fileMessages: readonly ExplicitMessage[] | undefined,
): MessageSource {
  const group = flag<string>(ctx, 'group');
  if (group !== undefined && !fifo) throw new UsageError('--group applies to FIFO queues only', 'produce');
  if (fileMessages === undefined) {
    const count = flag<number>(ctx, 'count') ?? 3;
    const duplicates = flag<number>(ctx, 'duplicates') ?? 0;
    const generated = generateMessages({ count, duplicates, groupId: group }, randomUUID().slice(0, 8));
    return { ...generated, total: count + duplicates, duplicates };
  }
  try {
    const messages = explicit(
      { messages: fileMessages, groupId: group },
      fifo,
      ctx.config.idempotency.keyAttribute,
    );
    return { messages, total: messages.length, duplicates: fileDuplicates(fileMessages) };
  } catch (error) {
    if (error instanceof SeedInputError)
      throw new UsageError(`${file}: ${describeFileField(error)}`, 'produce');
    throw error;
  }
}

/** `--envelope`: sns, eventbridge or none given. */
function envelopeFlag(ctx: CommandContext): SeedEnvelope | undefined {
  const kind = flag<string>(ctx, 'envelope');
  if (kind === undefined || (SEED_ENVELOPES as readonly string[]).includes(kind)) {
    return kind as SeedEnvelope | undefined;
  }
  throw new UsageError(`--envelope is one of ${SEED_ENVELOPES.join(', ')}`, 'produce');
}

/**
 * The messages, each as SNS or EventBridge would deliver it (seeding/envelopes.ts): generated
 * ones as they are sent, a file's before anything is sent (a line that cannot go in the envelope
 * is a usage error).
 */
function inEnvelopeOf(kind: SeedEnvelope | undefined, file: string | undefined, source: MessageSource) {
  if (kind === undefined) return source;
  if (file === undefined) {
    return {
      ...source,
      messages: { [Symbol.iterator]: () => inEnvelopes(kind, source.messages, randomUUID) },
    };
  }
  const messages = [...source.messages].map((m, i) => {
    const wrapped = inEnvelope(kind, m, m.key ?? randomUUID(), new Date().toISOString());
    if (!isProblem(wrapped)) return wrapped;
    const error = new SeedInputError(`messages.${i}.${wrapped.field}`, wrapped.problem);
    throw new UsageError(`${file}: ${describeFileField(error)}`, 'produce');
  });
  return { ...source, messages };
}

/** What SQS would not take after retries, listed after the summary: exit 1. */
function listFailures(ctx: CommandContext, failed: readonly SendFailure[]): CommandResult {
  if (failed.length === 0) return 0;
  ctx.out.rows(
    failed
      .slice(0, LISTED_FAILURES)
      .map((f) => ({ message: f.index + 1, key: f.key, code: f.code, error: f.message })),
  );
  ctx.streams.stderr.write(
    `produce: ${failed.length} messages were not sent after retries` +
      (failed.length > LISTED_FAILURES ? ` (the first ${LISTED_FAILURES} are listed)` : '') +
      '\n',
  );
  return 1;
}

/** Messages sent more than once under one key (what the worker should skip). */
function fileDuplicates(messages: readonly ExplicitMessage[]): number {
  const keyed = messages.filter((m) => m.key !== undefined);
  return keyed.length - new Set(keyed.map((m) => m.key)).size;
}

function describeFileField(error: SeedInputError): string {
  // messages.4.body -> line 5, body
  const match = /^messages\.(\d+)\.?(.*)$/.exec(error.field);
  return match
    ? `line ${Number(match[1]) + 1}${match[2] ? `, ${match[2]}` : ''}: ${error.message}`
    : error.message;
}

/**
 * The file's messages, one JSON object a line: `{"body", "key"?, "attributes"?, "group"?}`. Blank
 * lines are skipped; any other line that is not such an object, or holds what SQS would refuse
 * (seeding/validate.ts), is a usage error naming its line, before anything is sent.
 */
export async function readMessages(path: string, keyAttribute: string): Promise<ExplicitMessage[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--file ${path}: ${describeError(error)}`, 'produce');
  }
  const messages: ExplicitMessage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    const at = `${path}: line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`${at}: not JSON (${(error as Error).message})`, 'produce');
    }
    const message = fileMessage(value, at);
    const problem = messageProblem(`line ${i + 1}`, message, { keyAttribute });
    if (problem) throw new UsageError(`${path}: ${problem.message}`, 'produce');
    messages.push(message);
  }
  if (messages.length === 0) throw new UsageError(`${path}: no messages`, 'produce');
  return messages;
}

const FILE_FIELDS = new Set(['body', 'key', 'attributes', 'group']);

function fileMessage(value: unknown, at: string): ExplicitMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${at}: expected an object {"body", "key"?, "attributes"?, "group"?}`, 'produce');
  }
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).find((k) => !FILE_FIELDS.has(k));
  if (unknown !== undefined)
    throw new UsageError(`${at}: unknown field ${JSON.stringify(unknown)}`, 'produce');
  if (!('body' in v)) throw new UsageError(`${at}: no body`, 'produce');
  if (v.key !== undefined && (typeof v.key !== 'string' || v.key === '')) {
    throw new UsageError(`${at}: key must be a non-empty string`, 'produce');
  }
  if (v.group !== undefined && typeof v.group !== 'string') {
    throw new UsageError(`${at}: group must be a string`, 'produce');
  }
  const attributes = v.attributes;
  if (
    attributes !== undefined &&
    (typeof attributes !== 'object' ||
      attributes === null ||
      Object.values(attributes).some((a) => typeof a !== 'string'))
  ) {
    throw new UsageError(`${at}: attributes must be an object of strings`, 'produce');
  }
  return {
    body: v.body,
    key: v.key as string | undefined,
    groupId: v.group as string | undefined,
    attributes: attributes as Record<string, string> | undefined,
  };
}
