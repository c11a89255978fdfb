import { createApp } from '../../src/app/app.js';
import { createDynamoClient, createSqsClient } from '../../src/aws/clients.js';
import { createTable } from '../../src/aws/table.js';
import { loadConfig } from '../../src/config/load.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MemoryLog } from '../helpers/app.js';
import { fixture, send, useTestAws, type TestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';

/**
 * STORE_BATCHING (issue 22) through the composition root: the start probes the table's store,
 * logs the choice and keeps it for /status.json; on DynamoDB Local the worker's new messages cost
 * a fraction of a DynamoDB request each.
 */

/** DynamoDB requests the client sends, by operation (a middleware on the real client). */
function countRequests(client: DynamoDBClient): { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.set(operation, (counts.get(operation) ?? 0) + 1);
      return next(args);
    },
    { step: 'deserialize', name: 'batchingRequestCounter' },
  );
  return { counts };
}

async function runApp(aws: TestAws, dynamodbEndpoint: string, env: Record<string, string>, messages: number) {
  const f = await fixture(aws);
  const config = loadConfig({
    SQS_QUEUE_URL: f.queueUrl,
    AWS_ENDPOINT_URL_SQS: aws.emulators.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
    IDEMPOTENCY_TABLE: f.table,
    IDEMPOTENCY_NAMESPACE: f.name,
    SQS_WAIT_TIME_SECONDS: '1',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    SHUTDOWN_TIMEOUT: '5',
    QUEUE_METRICS_INTERVAL: '0',
    LOG_LEVEL: 'info',
    ...env,
  });
  const settings = { ...config, credentials: aws.settings.credentials };
  const sqs = createSqsClient(settings);
  const dynamodb = createDynamoClient(settings);
  if (dynamodbEndpoint !== aws.emulators.dynamodbEndpoint) await createTable(dynamodb, f.table);
  const { counts } = countRequests(dynamodb);
  await send(
    aws,
    f.queueUrl,
    Array.from({ length: messages }, (_, i) => ({ body: `{"n":${i}}`, key: `k${i}` })),
  );
  const log = new MemoryLog();
  const handled = new Set<string>();
  const app = createApp(config, {
    logDestination: log,
    handler: (m) => void handled.add(m.key),
    sqs,
    dynamodb,
  });
  let status: { storeWrites?: unknown } | undefined;
  try {
    await app.start();
    await eventually(async () => (handled.size === messages ? true : undefined), 60_000);
    status = (await app.server.inject({ method: 'GET', url: '/status.json' })).json();
  } finally {
    await app.stop();
    sqs.destroy();
    dynamodb.destroy();
  }
  return { choice: app.storeBatching(), status, log, counts: Object.fromEntries(counts), handled };
}

describe('STORE_BATCHING through the app', () => {
  const aws = useTestAws();

  it('keeps single calls on dynalite (no BatchExecuteStatement), and logs why', async () => {
    const { choice, status, log } = await runApp(aws, aws.emulators.dynamodbEndpoint, {}, 3);
    expect(choice).toEqual({ mode: 'single', reason: expect.stringMatching(/UnknownOperation/) });
    expect(status?.storeWrites).toEqual(choice);
    expect(log.lines()).toContainEqual(
      expect.objectContaining({ msg: 'idempotency store: single writes', storeBatching: 'single' }),
    );
  });

  it('STORE_BATCHING=off: single calls without a probe', async () => {
    const { choice, status, counts } = await runApp(
      aws,
      aws.emulators.dynamodbEndpoint,
      { STORE_BATCHING: 'off' },
      1,
    );
    expect(choice).toEqual({ mode: 'single', reason: 'STORE_BATCHING=off' });
    expect(status?.storeWrites).toEqual(choice);
    expect(counts.BatchExecuteStatement).toBeUndefined();
  });

  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (endpoint) {
    it(`batches on ${endpoint}: 200 new messages, each handled once, at most 0.5 DynamoDB requests each`, async () => {
      const messages = 200;
      const { choice, status, counts, handled } = await runApp(aws, endpoint, {}, messages);
      expect(choice).toMatchObject({ mode: 'batched' });
      expect(status?.storeWrites).toEqual(choice);
      expect(handled.size).toBe(messages);
      // The hot path's requests (the probe included); DescribeTable and generation reads are not per message.
      const hot = ['BatchExecuteStatement', 'PutItem', 'UpdateItem'].reduce(
        (n, op) => n + (counts[op] ?? 0),
        0,
      );
      process.stdout.write(`store batching: ${JSON.stringify(counts)} for ${messages} messages\n`);
      expect(hot / messages).toBeLessThanOrEqual(0.5);
    });
  }
});
