import { SendMessageBatchCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterQueues, redriveDeadLetters } from '../../src/cli/dlq.js';
import { fixture, queueCounts, useTestAws } from '../helpers/aws.js';
import { startCliFixture, type CliFixture } from '../helpers/cli.js';

const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

/** `count` dead-lettered messages as the worker writes them: key, reason, attempts, own attributes. */
async function deadLetter(sqs: SQSClient, dlqUrl: string, count: number, prefix = 'dead'): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    const n = Math.min(10, count - i);
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: Array.from({ length: n }, (_, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify({ n: i + j }),
          MessageAttributes: {
            IdempotencyKey: text(`${prefix}-${i + j}`),
            DeadLetterReason: text('PERMANENT_ERROR'),
            DeadLetterMessage: text('PermanentError: bad order'),
            DeadLetterAttempts: { DataType: 'Number', StringValue: '3' },
            tenant: text('acme'),
          },
        })),
      }),
    );
  }
}

describe('sqs-worker dlq', () => {
  let f: CliFixture;

  beforeAll(async () => {
    f = await startCliFixture();
  });

  afterAll(async () => {
    await f.close();
  });

  it('dlq show lists each message once, beyond 10, with key, numeric attempts and attributes', async () => {
    const env = await f.queue('show');
    const dlqUrl = `${env.SQS_QUEUE_URL}-dlq`;
    await deadLetter(f.sqs, dlqUrl, 12);
    const shown = await f.run(['dlq', 'show', '--limit', '15'], env);
    expect(shown.code).toBe(0);
    expect(shown.out).toHaveLength(12);
    expect(new Set(shown.out.map((m) => m.key))).toEqual(
      new Set(Array.from({ length: 12 }, (_, i) => `dead-${i}`)),
    );
    expect(shown.out[0]).toEqual(
      expect.objectContaining({
        reason: 'PERMANENT_ERROR',
        detail: 'PermanentError: bad order',
        attempts: 3,
        receiveCount: 1,
        attributes: { tenant: 'acme' },
      }),
    );
  });

  it('a peek costs one receive per message and releases them at once', async () => {
    const env = await f.queue('peek');
    const dlqUrl = `${env.SQS_QUEUE_URL}-dlq`;
    await deadLetter(f.sqs, dlqUrl, 3);
    const first = await f.run(['dlq', 'show'], env);
    const second = await f.run(['dlq', 'show'], env);
    expect(first.out.map((m) => m.receiveCount)).toEqual([1, 1, 1]);
    expect(second.out.map((m) => m.receiveCount)).toEqual([2, 2, 2]);
    const stats = await f.run(['queue', 'stats'], env);
    expect(stats.out[1]).toMatchObject({ role: 'dlq', visible: 3, inFlight: 0 });
  });

  it('dlq redrive moves them back with their key and attributes, with progress lines', async () => {
    const env = await f.queue('redrive');
    const dlqUrl = `${env.SQS_QUEUE_URL}-dlq`;
    await deadLetter(f.sqs, dlqUrl, 25);
    const redriven = await f.run(['dlq', 'redrive', '--count', '20'], env);
    expect(redriven.code).toBe(0);
    expect(redriven.out).toEqual([{ moved: 20, notSent: 0, notDeleted: 0 }]);
    expect(redriven.err).toMatch(/^redrive: 20\/20 \(\d+\/s\)$/m);
    const stats = await f.run(['queue', 'stats'], env);
    expect(stats.out).toEqual([
      expect.objectContaining({ role: 'queue', visible: 20 }),
      expect.objectContaining({ role: 'dlq', visible: 5 }),
    ]);
  });
});

/** redriveDeadLetters in this process, where SQS's answers can be made to fail. */
describe('redriveDeadLetters against fauxqs', () => {
  const aws = useTestAws();

  it('counts as moved only what DeleteMessageBatch deleted, and lists the rest', async () => {
    const f = await fixture(aws);
    await deadLetter(aws.sqs, f.dlqUrl, 5);
    // fauxqs deletes whatever it is asked to (any receipt handle included), so the fault is made
    // at the client: entry 2 of each DeleteMessageBatch is withheld from fauxqs (it is not
    // deleted) and reported in Failed, as SQS reports an entry it could not delete.
    type Args = { input: object };
    type Result = { output: object; response: unknown };
    const spoil =
      (next: (args: Args) => Promise<Result>, context: { commandName?: string }) =>
      async (args: Args): Promise<Result> => {
        if (context.commandName !== 'DeleteMessageBatchCommand') return next(args);
        const input = args.input as { Entries: { Id?: string }[] };
        const kept = input.Entries.filter((e) => e.Id !== '2');
        const result =
          kept.length > 0
            ? await next({ ...args, input: { ...input, Entries: kept } })
            : { response: {}, output: { $metadata: {}, Successful: [] } as object };
        const output = result.output as { Failed?: object[] };
        if (kept.length < input.Entries.length) {
          output.Failed = [
            ...(output.Failed ?? []),
            { Id: '2', Code: 'InternalError', Message: 'withheld by the test', SenderFault: false },
          ];
        }
        return result;
      };
    aws.sqs.middlewareStack.add(spoil as never, { step: 'initialize', name: 'spoilOneDelete' });
    try {
      const q = deadLetterQueues(
        { sqs: aws.sqs, queueUrl: f.queueUrl, dlqUrl: f.dlqUrl } as Parameters<typeof deadLetterQueues>[0],
        'IdempotencyKey',
      );
      const report = await redriveDeadLetters(q, 100);
      expect(report.moved).toBe(4);
      expect(report.notSent).toBe(0);
      expect(report.notDeleted).toEqual([
        expect.objectContaining({ key: expect.stringMatching(/^dead-\d$/), code: 'InternalError' }),
      ]);
    } finally {
      aws.sqs.middlewareStack.remove('spoilOneDelete');
    }
    expect((await queueCounts(aws, f.queueUrl)).visible).toBe(5);
    const left = await queueCounts(aws, f.dlqUrl);
    expect(left.visible + left.inFlight).toBe(1);
  });

  it('stops between batches when the signal fires, having moved whole batches', async () => {
    const f = await fixture(aws);
    await deadLetter(aws.sqs, f.dlqUrl, 30);
    const stop = new AbortController();
    const q = deadLetterQueues(
      { sqs: aws.sqs, queueUrl: f.queueUrl, dlqUrl: f.dlqUrl } as Parameters<typeof deadLetterQueues>[0],
      'IdempotencyKey',
    );
    const report = await redriveDeadLetters(q, 100, { signal: stop.signal, onProgress: () => stop.abort() });
    expect(report.moved).toBeGreaterThan(0);
    expect(report.moved).toBeLessThanOrEqual(10);
    expect((await queueCounts(aws, f.queueUrl)).visible).toBe(report.moved);
    expect((await queueCounts(aws, f.dlqUrl)).visible).toBe(30 - report.moved);
  });
});
