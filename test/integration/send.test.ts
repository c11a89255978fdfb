import { sendAll, type OutgoingMessage } from '../../src/seeding/send.js';
import { fixture, queueCounts, useTestAws } from '../helpers/aws.js';

/** The batch sender behind `produce` and POST /seed, against fauxqs. */
describe('sendAll', () => {
  const aws = useTestAws();

  const messages = (n: number): OutgoingMessage[] =>
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, body: JSON.stringify({ i }) }));

  it('sends every message in batches of at most 10, several in flight', async () => {
    const f = await fixture(aws);
    const batchSizes: number[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    aws.sqs.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Entries?: unknown[] };
        batchSizes.push(input.Entries?.length ?? 0);
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        try {
          return await next(args);
        } finally {
          inFlight -= 1;
        }
      },
      { step: 'initialize', name: 'countBatches' },
    );
    try {
      const report = await sendAll(aws.sqs, f.queueUrl, 'IdempotencyKey', messages(205), { concurrency: 4 });
      expect(report).toEqual({ sent: 205, failed: [], interrupted: false });
    } finally {
      aws.sqs.middlewareStack.remove('countBatches');
    }
    expect(Math.max(...batchSizes)).toBe(10);
    expect(batchSizes.reduce((a, b) => a + b, 0)).toBe(205);
    expect(mostInFlight).toBeGreaterThan(1);
    expect(mostInFlight).toBeLessThanOrEqual(4);
    expect((await queueCounts(aws, f.queueUrl)).visible).toBe(205);
  });

  it('adds the common attributes (trace context) only where SQS allows them: at most 10 in all', async () => {
    const f = await fixture(aws);
    const sentAttributes: string[][] = [];
    aws.sqs.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Entries?: { MessageAttributes?: Record<string, unknown> }[] };
        for (const entry of input.Entries ?? [])
          sentAttributes.push(Object.keys(entry.MessageAttributes ?? {}));
        return next(args);
      },
      { step: 'initialize', name: 'recordAttributes' },
    );
    const nine = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`a${i}`, `v${i}`]));
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    try {
      const report = await sendAll(
        aws.sqs,
        f.queueUrl,
        'IdempotencyKey',
        [
          { key: 'full', body: '{}', attributes: nine },
          { key: 'room', body: '{}', attributes: { a0: 'v0' } },
        ],
        { attributes: { traceparent } },
      );
      expect(report).toEqual({ sent: 2, failed: [], interrupted: false });
    } finally {
      aws.sqs.middlewareStack.remove('recordAttributes');
    }
    expect(sentAttributes.map((names) => names.sort())).toEqual([
      [...Object.keys(nine), 'IdempotencyKey'].sort(),
      ['IdempotencyKey', 'a0', 'traceparent'],
    ]);
  });

  it('sends a batch again when its request failed, and loses nothing', async () => {
    const f = await fixture(aws);
    let failures = 2;
    aws.sqs.middlewareStack.add(
      (next) => async (args) => {
        if (failures > 0) {
          failures -= 1;
          throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failTwice' },
    );
    try {
      const report = await sendAll(aws.sqs, f.queueUrl, 'IdempotencyKey', messages(25), { concurrency: 1 });
      expect(report).toEqual({ sent: 25, failed: [], interrupted: false });
    } finally {
      aws.sqs.middlewareStack.remove('failTwice');
    }
    expect((await queueCounts(aws, f.queueUrl)).visible).toBe(25);
  });

  it('sends again an entry SQS failed for its own fault (Failed, SenderFault false), once', async () => {
    const f = await fixture(aws);
    // fauxqs never fails an entry on its own: the first time entry 4 is sent, it is withheld from
    // fauxqs and answered as SQS answers an entry it could not take.
    let spoiled = false;
    type Args = { input: object };
    type Result = { output: object; response: unknown };
    const spoil =
      (next: (args: Args) => Promise<Result>, context: { commandName?: string }) =>
      async (args: Args): Promise<Result> => {
        const input = args.input as { Entries?: { Id?: string }[] };
        if (context.commandName !== 'SendMessageBatchCommand' || spoiled) return next(args);
        if (!input.Entries?.some((e) => e.Id === '4')) return next(args);
        spoiled = true;
        const result = await next({
          ...args,
          input: { ...input, Entries: input.Entries.filter((e) => e.Id !== '4') },
        });
        const output = result.output as { Failed?: object[] };
        output.Failed = [{ Id: '4', Code: 'InternalError', Message: 'try again', SenderFault: false }];
        return result;
      };
    aws.sqs.middlewareStack.add(spoil as never, { step: 'initialize', name: 'failEntryOnce' });
    try {
      const report = await sendAll(aws.sqs, f.queueUrl, 'IdempotencyKey', messages(15));
      expect(report).toEqual({ sent: 15, failed: [], interrupted: false });
    } finally {
      aws.sqs.middlewareStack.remove('failEntryOnce');
    }
    expect(spoiled).toBe(true);
    expect((await queueCounts(aws, f.queueUrl)).visible).toBe(15);
  });

  it('lists what still fails after every attempt, never drops it', async () => {
    const f = await fixture(aws);
    aws.sqs.middlewareStack.add(
      (next) => async (args) => {
        const input = (args as { input: { Entries?: { Id?: string }[] } }).input;
        if (input.Entries?.some((e) => e.Id === '3'))
          throw Object.assign(new Error('down'), { name: 'NetworkingError' });
        return next(args);
      },
      { step: 'initialize', name: 'failBatchOfThree' },
    );
    try {
      const report = await sendAll(aws.sqs, f.queueUrl, 'IdempotencyKey', messages(15), { attempts: 2 });
      expect(report.sent).toBe(5);
      expect(report.failed.map((x) => x.key)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
      expect(report.failed[0]).toMatchObject({
        code: 'NetworkingError',
        message: expect.stringContaining('down'),
      });
    } finally {
      aws.sqs.middlewareStack.remove('failBatchOfThree');
    }
  });
});

describe('sendAll to a queue SQS refuses', () => {
  const aws = useTestAws();

  it('stops at the first refusal instead of trying every batch', async () => {
    const f = await fixture(aws);
    const missing = `${f.queueUrl}-missing`;
    const messages = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, body: `${i}` }));
    const report = await sendAll(aws.sqs, missing, 'IdempotencyKey', messages, { concurrency: 2 });
    expect(report.sent).toBe(0);
    expect(report.failed.length).toBeGreaterThan(0);
    expect(report.failed.length).toBeLessThanOrEqual(20);
    expect(report.failed[0]?.code).toMatch(/QueueDoesNotExist|NonExistentQueue/);
  });
});
