import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { clearRecords, listRecords } from '../../src/aws/dynamodb-records.js';
import { SqsQueue } from '../../src/aws/sqs-queue.js';
import { fixture, useTestAws } from '../helpers/aws.js';

/**
 * With exactOptionalPropertyTypes the adapters pass optional members as they are (`DelaySeconds:
 * message.delaySeconds`) instead of spreading them in only when set: the SDK must still leave an
 * undefined member out of the request. These read the JSON body each call sends to the emulators.
 */
describe('what the adapters send for optional fields left undefined', () => {
  const aws = useTestAws();

  /** The JSON bodies `client` sends while `run` runs. */
  async function bodies(
    client: SQSClient | DynamoDBClient,
    run: () => Promise<unknown>,
  ): Promise<Record<string, unknown>[]> {
    const seen: Record<string, unknown>[] = [];
    const stack = client.middlewareStack as SQSClient['middlewareStack'];
    stack.add(
      (next) => async (args) => {
        const body = (args.request as { body?: unknown }).body;
        const text = body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : body;
        if (typeof text === 'string') seen.push(JSON.parse(text) as Record<string, unknown>);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'readBody' },
    );
    try {
      await run();
    } finally {
      stack.remove('readBody');
    }
    return seen;
  }

  it('SendMessage on a standard queue: only the queue and the body, then every member given', async () => {
    const f = await fixture(aws);
    const queue = new SqsQueue(aws.sqs, f.queueUrl);
    const [bare] = await bodies(aws.sqs, () =>
      queue.send({ body: 'b', attributes: undefined, delaySeconds: undefined, groupId: undefined }),
    );
    expect(Object.keys(bare ?? {}).sort()).toEqual(['MessageBody', 'QueueUrl']);

    const [full] = await bodies(aws.sqs, () =>
      queue.send({
        body: 'b',
        delaySeconds: 2,
        attributes: { s: { dataType: 'String', stringValue: 'x' } },
      }),
    );
    expect(full).toEqual({
      QueueUrl: f.queueUrl,
      MessageBody: 'b',
      DelaySeconds: 2,
      MessageAttributes: { s: { DataType: 'String', StringValue: 'x' } },
    });
  });

  it('SendMessage on a FIFO queue carries the group and deduplication id', async () => {
    const f = await fixture(aws, { fifo: true });
    const queue = new SqsQueue(aws.sqs, f.queueUrl);
    const [sent] = await bodies(aws.sqs, () => queue.send({ body: 'b', groupId: 'g', deduplicationId: 'd' }));
    expect(sent).toEqual({
      QueueUrl: f.queueUrl,
      MessageBody: 'b',
      MessageGroupId: 'g',
      MessageDeduplicationId: 'd',
    });
  });

  it('the records scans name no status and filter no prefix when none is asked for', async () => {
    const f = await fixture(aws);
    const now = Date.now();
    const [all] = await bodies(aws.dynamodb, () => listRecords(aws.dynamodb, f.table, { limit: 5, now }));
    expect(all).not.toHaveProperty('ExpressionAttributeNames');
    const [some] = await bodies(aws.dynamodb, () =>
      listRecords(aws.dynamodb, f.table, { limit: 5, now, status: 'FAILED', prefix: 'q#' }),
    );
    expect(some?.ExpressionAttributeNames).toEqual({ '#status': 'status' });

    const [clear] = await bodies(aws.dynamodb, () => clearRecords(aws.dynamodb, f.table, undefined, { now }));
    expect(clear).not.toHaveProperty('FilterExpression');
    expect(clear).not.toHaveProperty('ExpressionAttributeValues');
    const [clearSome] = await bodies(aws.dynamodb, () => clearRecords(aws.dynamodb, f.table, 'q#', { now }));
    expect(clearSome).toMatchObject({
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': { S: 'q#' } },
    });
  });
});
