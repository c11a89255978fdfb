import type { SQSClient } from '@aws-sdk/client-sqs';
import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../src/aws/clients.js';
import { PermanentError } from '../../src/core/errors.js';
import type { WorkerMessage } from '../../src/core/message.js';
import { startEmbeddedApp, type RunningApp } from '../helpers/app.js';
import { eventually, runCli } from '../helpers/process.js';

/**
 * Issue 21, item 1: `dlq redrive` while a worker runs whose handler dead-letters everything. Each
 * redriven message comes straight back into the dead-letter queue (a new MessageId, its
 * OriginalMessageId the copy redrive sent): redrive must move each message it found once, stop,
 * and say how many distinct messages it moved.
 */
describe('dlq redrive against a running worker that dead-letters everything', () => {
  let running: RunningApp;
  let sqs: SQSClient;
  const runs = new Map<string, number>();

  beforeAll(async () => {
    running = await startEmbeddedApp(
      {},
      {
        handler: (message: WorkerMessage) => {
          runs.set(message.key, (runs.get(message.key) ?? 0) + 1);
          throw new PermanentError('poison');
        },
      },
    );
    sqs = createSqsClient({
      region: 'us-east-1',
      sqsEndpoint: running.endpoints.sqsEndpoint,
      dynamodbEndpoint: undefined,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  afterAll(async () => {
    sqs.destroy();
    await running.app.stop();
  });

  async function dlqVisible(): Promise<number> {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: running.endpoints.dlqUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  }

  it('moves each of the 3 once, defaults its count to the depth at start, and reports 3', async () => {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: running.endpoints.queueUrl,
        Entries: ['p1', 'p2', 'p3'].map((key, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify({ key }),
          MessageAttributes: { IdempotencyKey: { DataType: 'String', StringValue: key } },
        })),
      }),
    );
    await eventually(async () => ((await dlqVisible()) === 3 ? true : undefined));
    expect([...runs.values()]).toEqual([1, 1, 1]);

    const cli = runCli(['dlq', 'redrive'], {
      SQS_QUEUE_URL: running.endpoints.queueUrl,
      AWS_ENDPOINT_URL_SQS: running.endpoints.sqsEndpoint as string,
      AWS_ENDPOINT_URL_DYNAMODB: running.endpoints.dynamodbEndpoint as string,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    const { code } = await cli.exit();
    expect(cli.stderr()).toMatch(/^redrive: 3\/3 \(\d+\/s\)$/m);
    expect(code).toBe(0);
    expect(cli.lines).toEqual([{ moved: 3, notSent: 0, notDeleted: 0 }]);

    // The worker dead-letters each once more: every handler ran twice in all, the DLQ holds 3.
    await eventually(async () => ([...runs.values()].every((n) => n === 2) ? true : undefined));
    await eventually(async () => ((await dlqVisible()) === 3 ? true : undefined));
    expect(Object.fromEntries(runs)).toEqual({ p1: 2, p2: 2, p3: 2 });
  });
});
