// The systems the bench compares ours with, each run by the harness as a process of its own:
//
//   baseline  bare sqs-consumer, no idempotency: BENCH_INSTANCES consumers in one process
//   floor     the baseline plus two plain DynamoDB UpdateItem calls per message (what the calls of
//             a claim and a completion cost by themselves, with nothing decided on them)
//   peer      sqs-consumer + Powertools' makeIdempotent with its DynamoDBPersistenceLayer, keyed on
//             the IdempotencyKey message attribute
//
// All three use handleMessageBatch (batches of 10, one DeleteMessageBatch per batch), the same SQS
// and DynamoDB clients as ours (dist/aws/clients.js: keep-alive pools, timeouts, retries), and
// the handler of bench/handler.mjs. On a FIFO queue a batch is handled group by group, in order,
// and a group stops at its first failure. Messages that fail (only the peer's "already in
// progress" here) are made visible again after 1 s instead of the whole visibility timeout.
//
// Environment: BENCH_SYSTEM, BENCH_QUEUE_URL, BENCH_SQS_ENDPOINT, BENCH_DDB_ENDPOINT, BENCH_TABLE,
// BENCH_FIFO (1 or unset), BENCH_INSTANCES (default 5), BENCH_HANDLER_LOG, BENCH_HANDLER_MS.
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityBatchCommand } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import { createDynamoClient, createSqsClient } from '../dist/aws/clients.js';
import { runHandler } from './handler.mjs';

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

const env = process.env;
const SYSTEM = env.BENCH_SYSTEM ?? 'baseline';
const QUEUE_URL = env.BENCH_QUEUE_URL ?? '';
const TABLE = env.BENCH_TABLE ?? '';
const FIFO = env.BENCH_FIFO === '1';
const INSTANCES = Number(env.BENCH_INSTANCES ?? 5);
const BATCH = 10;
const VISIBILITY_SECONDS = 30;
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const region = 'us-east-1';

const sqs = createSqsClient({
  region,
  sqsEndpoint: env.BENCH_SQS_ENDPOINT,
  dynamodbEndpoint: undefined,
  credentials,
  maxInFlight: INSTANCES * BATCH,
});
const ddb =
  SYSTEM === 'baseline'
    ? undefined
    : createDynamoClient({
        region,
        sqsEndpoint: undefined,
        dynamodbEndpoint: env.BENCH_DDB_ENDPOINT,
        credentials,
        maxInFlight: INSTANCES * BATCH,
      });

const keyOf = (message) => message.MessageAttributes?.IdempotencyKey?.StringValue ?? message.MessageId;

/** One message, per system: resolves when handled, throws when it must come back. */
async function makeProcessOne() {
  if (SYSTEM === 'baseline') return (message) => runHandler(keyOf(message));
  if (SYSTEM === 'floor') {
    const mark = (key, status) =>
      ddb.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET #s = :s, #t = :t',
          ExpressionAttributeNames: { '#s': 'status', '#t': 'updatedAtMs' },
          ExpressionAttributeValues: { ':s': { S: status }, ':t': { N: String(Date.now()) } },
        }),
      );
    return async (message) => {
      const key = keyOf(message);
      await mark(key, 'IN_PROGRESS');
      await runHandler(key);
      await mark(key, 'COMPLETED');
    };
  }
  if (SYSTEM === 'peer') {
    const { makeIdempotent, IdempotencyConfig } = await import('@aws-lambda-powertools/idempotency');
    const { DynamoDBPersistenceLayer } = await import('@aws-lambda-powertools/idempotency/dynamodb');
    const persistenceStore = new DynamoDBPersistenceLayer({ tableName: TABLE, awsSdkV3Client: ddb });
    const config = new IdempotencyConfig({
      eventKeyJmesPath: 'MessageAttributes.IdempotencyKey.StringValue',
      throwOnNoIdempotencyKey: true,
      // Its in-memory cache of completed keys, as large as ours (IDEMPOTENCY_CACHE_SIZE).
      useLocalCache: true,
      maxLocalCacheSize: 10_000,
    });
    // Outside Lambda there is no context: without one an IN_PROGRESS record never lapses before
    // its expiry (1 h), so a crashed consumer would block its keys that long. A stand-in context
    // gives in-progress records the visibility timeout as their lease, like ours.
    config.registerLambdaContext({ getRemainingTimeInMillis: () => VISIBILITY_SECONDS * 1000 });
    return makeIdempotent((message) => runHandler(keyOf(message)), { persistenceStore, config });
  }
  throw new Error(`unknown BENCH_SYSTEM ${SYSTEM}`);
}

const processOne = await makeProcessOne();

/** Handles a batch; resolves with the messages to delete. */
async function handleBatch(messages) {
  const done = [];
  const failed = [];
  const run = async (m) => {
    try {
      await processOne(m);
      done.push(m);
      return true;
    } catch (error) {
      failed.push(m);
      if (env.BENCH_VERBOSE) console.error(`${keyOf(m)}: ${error?.name}: ${error?.message}`);
      return false;
    }
  };
  if (FIFO) {
    const groups = Map.groupBy(messages, (m) => m.Attributes?.MessageGroupId ?? '');
    await Promise.all(
      [...groups.values()].map(async (group) => {
        for (const [i, m] of group.entries()) {
          if (!(await run(m))) {
            failed.push(...group.slice(i + 1));
            return;
          }
        }
      }),
    );
  } else {
    await Promise.all(messages.map(run));
  }
  if (failed.length > 0) await release(failed);
  return done;
}

async function release(messages) {
  await sqs
    .send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: QUEUE_URL,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 1,
        })),
      }),
    )
    .catch((error) => console.error(`release failed: ${error?.message}`));
}

for (let i = 0; i < INSTANCES; i += 1) {
  const consumer = Consumer.create({
    queueUrl: QUEUE_URL,
    sqs,
    batchSize: BATCH,
    waitTimeSeconds: 20,
    visibilityTimeout: VISIBILITY_SECONDS,
    messageSystemAttributeNames: ['SentTimestamp', 'MessageGroupId'],
    messageAttributeNames: ['IdempotencyKey'],
    handleMessageBatch: handleBatch,
    strictReturn: true,
    suppressFifoWarning: true,
  });
  consumer.on('error', (error) => console.error(`consumer error: ${error.message}`));
  consumer.on('processing_error', (error) => console.error(`processing error: ${error.message}`));
  consumer.start();
}
