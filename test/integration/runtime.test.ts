import type { MessageEvent } from '../../src/core/events.js';
import { PermanentError } from '../../src/core/errors.js';
import type { WorkerRuntime } from '../../src/worker/runtime.js';
import { fixture, queueCounts, receiveAll, runtime, send, useTestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';

/**
 * The runtime as `start` builds it (app.ts: SqsQueue, sqs-consumer, DynamoDB store) on fauxqs and
 * dynalite: what crosses the wire. Races, timeouts and policies are tested on the in-memory twins
 * with fake timers (test/unit/runtime.test.ts); these tests assert outcomes, never elapsed time.
 */
function recorder(worker: WorkerRuntime) {
  const events: MessageEvent[] = [];
  worker.on('message_settled', (event) => events.push(event));
  return {
    events,
    until: (predicate: (events: MessageEvent[]) => boolean) =>
      eventually(async () => (predicate(events) ? events : undefined), 30_000, 20),
  };
}

const outcomes = (events: MessageEvent[]) => events.map((e) => e.processed.outcome);

describe('WorkerRuntime on fauxqs and dynalite', () => {
  const aws = useTestAws();
  const running: WorkerRuntime[] = [];

  afterEach(async () => {
    await Promise.all(running.splice(0).map((w) => w.stop(0)));
  });

  async function start(worker: WorkerRuntime): Promise<WorkerRuntime> {
    running.push(worker);
    await worker.start();
    return worker;
  }

  it('handles new keys once, skips duplicates, and deletes both', async () => {
    const f = await fixture(aws);
    const runs: string[] = [];
    const worker = await start(await runtime(aws, f, (m) => void runs.push(m.key)));
    const rec = recorder(worker);
    await send(aws, f.queueUrl, [
      { body: '{"n":1}', key: 'a' },
      { body: '{"n":2}', key: 'b' },
      { body: '{"n":1}', key: 'a' },
    ]);
    await rec.until((e) => e.length === 3);
    expect(runs.sort()).toEqual(['a', 'b']);
    expect(outcomes(rec.events).sort()).toEqual(['duplicate', 'success', 'success']);
    await eventually(async () => {
      const counts = await queueCounts(aws, f.queueUrl);
      return counts.visible + counts.inFlight === 0 ? true : undefined;
    });
  });

  it('dead-letters a PermanentError with its reason and the original attributes', async () => {
    const f = await fixture(aws);
    const worker = await start(
      await runtime(aws, f, (message) => {
        if (message.key === 'poison') throw new PermanentError('order id is not a number');
      }),
    );
    const rec = recorder(worker);
    await send(aws, f.queueUrl, [
      {
        body: '{"order":"x"}',
        key: 'poison',
        attributes: { Team: { DataType: 'String', StringValue: 'billing' } },
      },
    ]);
    await rec.until((e) => e.length === 1);
    expect(outcomes(rec.events)).toEqual(['dead_lettered']);

    const [dead] = await receiveAll(aws, f.dlqUrl);
    expect(dead?.Body).toBe('{"order":"x"}');
    const attrs = dead?.MessageAttributes ?? {};
    expect(attrs.DeadLetterReason?.StringValue).toBe('PERMANENT_ERROR');
    expect(attrs.DeadLetterMessage?.StringValue).toContain('order id is not a number');
    expect(attrs.DeadLetterAttempts).toMatchObject({ DataType: 'Number', StringValue: '1' });
    expect(attrs.OriginalMessageId?.StringValue).toBe(rec.events[0]?.message.messageId);
    expect(Number(attrs.FirstReceiveTimestamp?.StringValue)).toBeGreaterThan(0);
    expect(attrs.IdempotencyKey?.StringValue).toBe('poison');
    expect(attrs.Team?.StringValue).toBe('billing');
    expect(await queueCounts(aws, f.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it("leaves a message that always fails to SQS's redrive after maxReceiveCount receives", async () => {
    const f = await fixture(aws, { maxReceiveCount: 2 });
    let runs = 0;
    await start(
      await runtime(aws, f, () => {
        runs += 1;
        throw new Error('always');
      }),
    );
    await send(aws, f.queueUrl, [{ body: '{"n":1}', key: 'doomed' }]);
    const [moved] = await eventually(async () => {
      const found = await receiveAll(aws, f.dlqUrl);
      return found.length > 0 ? found : undefined;
    }, 30_000);
    expect(moved?.Body).toBe('{"n":1}');
    // SQS moved it itself: no reason attribute of ours.
    expect(moved?.MessageAttributes?.DeadLetterReason).toBeUndefined();
    expect(runs).toBe(2);
  });
});
