import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { deadLetterQueues, redriveDeadLetters, showDeadLetters } from '../../src/cli/dlq.js';
import { DynamoDbIdempotencyStore } from '../../src/aws/dynamodb-store.js';
import type { Connection } from '../../src/aws/connect.js';
import { fixture, queueCounts, useTestAws, type Fixture } from '../helpers/aws.js';

const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
const NAMESPACE = 'dlqrec';

/** `dlq show` and `dlq redrive` with the keys' records, against fauxqs and dynalite (issue 19, items 3 and 10). */
describe('the dlq commands read and reopen the keys’ records', () => {
  const aws = useTestAws();
  let f: Fixture;
  let store: DynamoDbIdempotencyStore;

  beforeEach(async () => {
    f = await fixture(aws);
    store = new DynamoDbIdempotencyStore(aws.dynamodb, f.table);
  });

  const queues = () =>
    deadLetterQueues(
      {
        sqs: aws.sqs,
        dynamodb: aws.dynamodb,
        queueUrl: f.queueUrl,
        dlqUrl: f.dlqUrl,
        namespace: NAMESPACE,
      } as Connection,
      'IdempotencyKey',
      f.table,
    );

  async function send(url: string, key: string, attributes: Record<string, MessageAttributeValue> = {}) {
    const out = await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: JSON.stringify({ key }),
        MessageAttributes: { IdempotencyKey: text(key), ...attributes },
      }),
    );
    return out.MessageId as string;
  }

  /** The key's record as the worker leaves it: claimed, then DEAD_LETTERED with its reason. */
  async function deadLettered(key: string, copyId?: string): Promise<void> {
    const pk = `${NAMESPACE}#${key}`;
    const now = Date.now();
    const claimed = await store.claim({
      pk,
      payloadHash: 'v2:abc',
      owner: 'w:1',
      now,
      leaseExpiresAtMs: now + 30_000,
      expiresAt: Math.ceil(now / 1000) + 3600,
    });
    if (claimed.kind !== 'acquired') throw new Error(`claim: ${claimed.kind}`);
    expect(await store.fail(claimed.claim, now, 'PermanentError: no such order', 'PERMANENT_ERROR')).toBe(
      true,
    );
    if (copyId !== undefined) expect(await store.markDeadLettered(pk, copyId, now)).toBe(true);
  }

  it('shows the reason from the record for a copy sent without our attributes', async () => {
    const copyId = await send(f.dlqUrl, 'bare');
    await deadLettered('bare', copyId);
    const [shown] = await showDeadLetters(queues(), 5);
    expect(shown).toMatchObject({
      key: 'bare',
      reason: 'PERMANENT_ERROR',
      detail: 'PermanentError: no such order',
      verified: true,
    });
  });

  it('never presents a producer’s attributes named like ours as the worker’s reason', async () => {
    // The producer sent them; SQS's redrive moved the message after the handler failed (FAILED).
    await send(f.dlqUrl, 'forged', {
      DeadLetterReason: text('PAYLOAD_MISMATCH'),
      DeadLetterMessage: text('trust me'),
    });
    const now = Date.now();
    const claimed = await store.claim({
      pk: `${NAMESPACE}#forged`,
      payloadHash: 'v2:abc',
      owner: 'w:2',
      now,
      leaseExpiresAtMs: now + 30_000,
      expiresAt: Math.ceil(now / 1000) + 3600,
    });
    if (claimed.kind !== 'acquired') throw new Error(`claim: ${claimed.kind}`);
    await store.fail(claimed.claim, now, 'Error: downstream down');
    const [shown] = await showDeadLetters(queues(), 5);
    expect(shown).toMatchObject({ key: 'forged', reason: 'SQS_REDRIVE', verified: false });
    expect(shown?.attributes).toMatchObject({
      DeadLetterReason: 'PAYLOAD_MISMATCH',
      DeadLetterMessage: 'trust me',
    });
  });

  it('redrive makes a DEAD_LETTERED record claimable before it sends the message back', async () => {
    const copyId = await send(f.dlqUrl, 'again', { DeadLetterReason: text('PERMANENT_ERROR') });
    await deadLettered('again', copyId);
    const report = await redriveDeadLetters(queues(), 10);
    expect(report).toMatchObject({ moved: 1, notSent: 0 });
    expect(await store.get(`${NAMESPACE}#again`, Date.now())).toMatchObject({ status: 'FAILED' });
    expect(await store.get(`${NAMESPACE}#again`, Date.now())).not.toHaveProperty('deadLetterId');
  });

  it('redrive leaves a message in the dead-letter queue when its record cannot be reopened', async () => {
    await send(f.dlqUrl, 'stuck', { DeadLetterReason: text('PERMANENT_ERROR') });
    const broken = {
      ...queues(),
      records: {
        get: async () => undefined,
        reopen: async () => {
          throw new Error('store down');
        },
      },
    };
    const report = await redriveDeadLetters(broken, 10);
    expect(report).toMatchObject({ moved: 0, notSent: 1 });
  });

  it('redrive moves each message once, and not what arrives after it started (issue 21, item 1)', async () => {
    for (const key of ['p1', 'p2', 'p3']) await send(f.dlqUrl, key);
    let again = 0;
    const report = await redriveDeadLetters(queues(), 100, {
      // A running worker dead-letters the poison messages again as soon as they are back.
      onProgress: () => {
        again += 1;
        void send(f.dlqUrl, `p-again-${again}`);
      },
    });
    expect(report).toMatchObject({ moved: 3, notSent: 0 });
    const [left] = await showDeadLetters(queues(), 10);
    expect(left?.key).toMatch(/^p-again-/);
  });

  /**
   * Before each receive of the dead-letter queue, `comeBack` runs as a worker would: the copies
   * redrive sent are taken from the queue and put back into the dead-letter queue. The local clock
   * is an hour ahead of SQS's, so SentTimestamp cannot tell them from the messages present at the
   * start: only their ids can.
   */
  async function redriveWhileTheyComeBack(comeBack: () => Promise<void>) {
    type Args = { input: { QueueUrl?: string } };
    const hook =
      (next: (args: Args) => Promise<unknown>, context: { commandName?: string }) => async (args: Args) => {
        if (context.commandName === 'ReceiveMessageCommand' && args.input.QueueUrl === f.dlqUrl) {
          await comeBack();
        }
        return next(args);
      };
    aws.sqs.middlewareStack.add(hook as never, { step: 'initialize', name: 'comeBack' });
    try {
      return await redriveDeadLetters(queues(), 100, { now: () => Date.now() + 3_600_000 });
    } finally {
      aws.sqs.middlewareStack.remove('comeBack');
    }
  }

  async function takeFromQueue(visibility?: number) {
    const out = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: f.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: visibility,
      }),
    );
    return out.Messages ?? [];
  }

  it('does not move again what a worker dead-letters anew (its OriginalMessageId is the copy sent)', async () => {
    for (const key of ['w1', 'w2', 'w3']) await send(f.dlqUrl, key);
    const report = await redriveWhileTheyComeBack(async () => {
      for (const m of await takeFromQueue()) {
        const key = m.MessageAttributes?.IdempotencyKey?.StringValue as string;
        await send(f.dlqUrl, key, {
          DeadLetterReason: text('PERMANENT_ERROR'),
          OriginalMessageId: text(m.MessageId as string),
        });
        await aws.sqs.send(
          new DeleteMessageCommand({ QueueUrl: f.queueUrl, ReceiptHandle: m.ReceiptHandle }),
        );
      }
    });
    expect(report).toMatchObject({ moved: 3, notSent: 0, notDeleted: [] });
    expect(await queueCounts(aws, f.dlqUrl)).toEqual({ visible: 3, inFlight: 0 });
  });

  it('does not move again what SQS’s own redrive brings back (the MessageId of the copy sent)', async () => {
    f = await fixture(aws, { maxReceiveCount: 1 });
    for (const key of ['s1', 's2', 's3']) await send(f.dlqUrl, key);
    const report = await redriveWhileTheyComeBack(async () => {
      // A receive past maxReceiveCount: SQS moves the copies to the dead-letter queue as they are.
      await takeFromQueue(0);
      await takeFromQueue(0);
    });
    expect(report).toMatchObject({ moved: 3, notSent: 0, notDeleted: [] });
    const counts = await queueCounts(aws, f.dlqUrl);
    expect(counts.visible + counts.inFlight).toBe(3);
  });
});
