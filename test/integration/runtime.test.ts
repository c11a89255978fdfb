import { PermanentError } from '../../src/core/errors.js';
import type { WorkerMessage } from '../../src/core/message.js';
import type { MessageEvent, WorkerRuntime } from '../../src/worker/runtime.js';
import {
  fixture,
  queueCounts,
  receiveAll,
  runtime,
  send,
  startTestAws,
  type TestAws,
} from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';

/** Collects settled deliveries; `until` resolves once the predicate holds over them. */
function recorder(worker: WorkerRuntime) {
  const events: MessageEvent[] = [];
  worker.on('message_settled', (event) => events.push(event));
  return {
    events,
    until: (predicate: (events: MessageEvent[]) => boolean, timeoutMs = 20_000) =>
      eventually(async () => (predicate(events) ? events : undefined), timeoutMs, 20),
  };
}

const outcomes = (events: MessageEvent[]) => events.map((e) => e.processed.outcome);

describe('WorkerRuntime on fauxqs and dynalite', () => {
  let aws: TestAws;
  const running: WorkerRuntime[] = [];

  beforeAll(async () => {
    aws = await startTestAws();
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((w) => w.stop(0)));
  });

  afterAll(async () => {
    await aws.close();
  });

  function start(worker: WorkerRuntime): WorkerRuntime {
    running.push(worker);
    void worker.start();
    return worker;
  }

  it('handles more than 10 messages at once, never more than MAX_IN_FLIGHT', async () => {
    const f = await fixture(aws);
    await send(
      aws,
      f.queueUrl,
      Array.from({ length: 200 }, (_, i) => ({ body: `{"n":${i}}`, key: `k${i}` })),
    );
    let active = 0;
    let peak = 0;
    const worker = start(
      runtime(aws, f, async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 50));
        active -= 1;
      }),
    );
    const rec = recorder(worker);
    await rec.until((e) => e.length === 200);
    expect(outcomes(rec.events).every((o) => o === 'success')).toBe(true);
    expect(peak).toBeGreaterThan(10);
    expect(peak).toBeLessThanOrEqual(50);
  });

  it('retries a failed message after the backoff, well before the visibility timeout', async () => {
    const f = await fixture(aws);
    const seen: { at: number; message: WorkerMessage }[] = [];
    const worker = start(
      runtime(aws, f, (message) => {
        seen.push({ at: Date.now(), message });
        if (seen.length === 1) throw new Error('flaky downstream');
      }),
    );
    const rec = recorder(worker);
    await send(aws, f.queueUrl, [{ body: '{"a":1}', key: 'retry-me' }]);
    await rec.until((e) => e.some((x) => x.processed.outcome === 'success'));
    expect(outcomes(rec.events)).toEqual(['retry', 'success']);
    expect(seen.map((s) => s.message.receiveCount)).toEqual([1, 2]);
    const gap = (seen[1]?.at ?? 0) - (seen[0]?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(450); // equal jitter: at least half of base (1 s)
    expect(gap).toBeLessThan(30_000); // the visibility timeout it did not have to wait out
  });

  it('dead-letters a PermanentError at once with its reason, and keeps running', async () => {
    const f = await fixture(aws);
    const worker = start(
      runtime(aws, f, (message) => {
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
    await send(aws, f.queueUrl, [{ body: '{"order":1}', key: 'fine' }]);
    await rec.until((e) => e.length === 2);
    expect(outcomes(rec.events)).toEqual(['dead_lettered', 'success']);

    const [dead] = await receiveAll(aws, f.dlqUrl);
    expect(dead?.Body).toBe('{"order":"x"}');
    const attrs = dead?.MessageAttributes ?? {};
    expect(attrs.DeadLetterReason?.StringValue).toBe('PERMANENT_ERROR');
    expect(attrs.DeadLetterMessage?.StringValue).toContain('order id is not a number');
    expect(attrs.DeadLetterAttempts?.StringValue).toBe('1');
    expect(attrs.OriginalMessageId?.StringValue).toBe(rec.events[0]?.message.messageId);
    expect(Number(attrs.FirstReceiveTimestamp?.StringValue)).toBeGreaterThan(0);
    expect(attrs.IdempotencyKey?.StringValue).toBe('poison');
    expect(attrs.Team?.StringValue).toBe('billing');
    expect(await queueCounts(aws, f.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('leaves a message that keeps failing to SQS redrive after maxReceiveCount receives', async () => {
    const f = await fixture(aws, { maxReceiveCount: 3 });
    const worker = start(
      runtime(
        aws,
        f,
        () => {
          throw new Error('always down');
        },
        { backoff: { baseMs: 0, maxMs: 0 } },
      ),
    );
    const rec = recorder(worker);
    await send(aws, f.queueUrl, [{ body: '{"doomed":true}', key: 'doomed' }]);
    await rec.until((e) => e.length === 3);
    const dead = await eventually(async () => {
      const got = await receiveAll(aws, f.dlqUrl);
      return got.length === 1 ? got : undefined;
    });
    expect(dead[0]?.Body).toBe('{"doomed":true}');
    expect(outcomes(rec.events)).toEqual(['retry', 'retry', 'retry']);
    expect(rec.events.map((e) => e.processed.claim?.attempt)).toEqual([1, 2, 3]);
  });

  it('without a dead-letter queue, releases a permanent failure and reports it as a retry', async () => {
    const f = await fixture(aws);
    const worker = start(
      runtime(
        aws,
        f,
        () => {
          throw new PermanentError('bad');
        },
        { dlqUrl: undefined },
      ),
    );
    const rec = recorder(worker);
    await send(aws, f.queueUrl, [{ body: '{}', key: 'nowhere' }]);
    await rec.until((e) => e.length === 1);
    expect(rec.events[0]?.processed).toMatchObject({
      outcome: 'retry',
      action: 'release',
      reason: { code: 'NO_DEAD_LETTER_QUEUE' },
    });
    expect(rec.events[0]?.processed.reason?.message).toContain('PERMANENT_ERROR');
    expect(await queueCounts(aws, f.queueUrl)).toEqual({ visible: 0, inFlight: 1 });
  });

  it('dead-letters a body that is not JSON when a schema requires JSON', async () => {
    const f = await fixture(aws);
    let handled = 0;
    const worker = start(
      runtime(aws, f, () => void (handled += 1), {
        validate: (m) =>
          typeof m.body === 'string' ? { code: 'INVALID_JSON', message: 'the body is not JSON' } : undefined,
      }),
    );
    const rec = recorder(worker);
    await send(aws, f.queueUrl, [
      { body: 'not json', key: 'bad' },
      { body: '{"ok":true}', key: 'good' },
    ]);
    await rec.until((e) => e.length === 2);
    expect(rec.events.find((e) => e.message.key === 'bad')?.processed.outcome).toBe('dead_lettered');
    expect(rec.events.find((e) => e.message.key === 'good')?.processed.outcome).toBe('success');
    expect(handled).toBe(1);
    const [dead] = await receiveAll(aws, f.dlqUrl);
    expect(dead?.MessageAttributes?.DeadLetterReason?.StringValue).toBe('INVALID_JSON');
  });

  it('aborts a handler past HANDLER_TIMEOUT and retries the message', async () => {
    const f = await fixture(aws);
    let aborted: unknown;
    let calls = 0;
    const worker = start(
      runtime(
        aws,
        f,
        async (_m, { signal }) => {
          calls += 1;
          if (calls > 1) return;
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
          aborted = signal.reason;
        },
        { handlerTimeoutMs: 200, backoff: { baseMs: 0, maxMs: 0 } },
      ),
    );
    const rec = recorder(worker);
    await send(aws, f.queueUrl, [{ body: '{}', key: 'slow' }]);
    await rec.until((e) => e.length === 2);
    expect(outcomes(rec.events)).toEqual(['retry', 'success']);
    expect(rec.events[0]?.processed.reason?.message).toContain('did not finish within 200 ms');
    expect((aborted as Error).name).toBe('HandlerTimeoutError');
  });

  it('keeps a handler slower than the visibility timeout invisible to other workers (heartbeat)', async () => {
    const f = await fixture(aws, { visibility: 1 });
    const opts = { visibilityTimeoutSeconds: 1 };
    let otherSaw = 0;
    const slow = start(
      runtime(aws, f, () => new Promise((r) => setTimeout(r, 3500)), { ...opts, instanceId: 'slow' }),
    );
    const rec = recorder(slow);
    await send(aws, f.queueUrl, [{ body: '{}', key: 'long' }]);
    await eventually(async () => ((await queueCounts(aws, f.queueUrl)).inFlight === 1 ? true : undefined));
    const other = start(runtime(aws, f, () => void (otherSaw += 1), { ...opts, instanceId: 'other' }));
    other.on('message_received', () => (otherSaw += 1));
    await rec.until((e) => e.length === 1);
    expect(outcomes(rec.events)).toEqual(['success']);
    expect(rec.events[0]?.message.receiveCount).toBe(1);
    expect(otherSaw).toBe(0);
  });

  it('drains on stop: an in-flight handler finishes within the shutdown timeout', async () => {
    const f = await fixture(aws);
    let release!: () => void;
    const started = new Promise<void>((r) => (release = r));
    const worker = runtime(aws, f, async () => {
      release();
      await new Promise((r) => setTimeout(r, 300));
    });
    const rec = recorder(worker);
    await worker.start();
    await send(aws, f.queueUrl, [{ body: '{}', key: 'drain' }]);
    await started;
    await worker.stop(5000);
    expect(outcomes(rec.events)).toEqual(['success']);
    expect(await queueCounts(aws, f.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('on stop past the shutdown timeout, aborts the handler and makes the message visible at once', async () => {
    const f = await fixture(aws);
    let release!: () => void;
    const started = new Promise<void>((r) => (release = r));
    const stuck = runtime(aws, f, async (_m, { signal }) => {
      release();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    });
    const rec = recorder(stuck);
    await stuck.start();
    await send(aws, f.queueUrl, [{ body: '{}', key: 'stuck' }]);
    await started;
    await stuck.stop(100);
    expect(outcomes(rec.events)).toEqual(['retry']);
    expect(rec.events[0]?.processed.reason?.code).toBe('ABORTED');
    // Visible again now: the next worker gets it well within the 30 s visibility timeout.
    const next = start(runtime(aws, f, () => {}, { instanceId: 'next' }));
    const after = recorder(next);
    await after.until((e) => e.length === 1, 5000);
    expect(after.events[0]?.processed.claim?.attempt).toBe(2);
  });

  it('FIFO: keeps the order of a group across a failure, and runs groups in parallel', async () => {
    const f = await fixture(aws, { fifo: true });
    const handled: string[] = [];
    let failedOnce = false;
    let active = 0;
    let peak = 0;
    const worker = start(
      runtime(
        aws,
        f,
        async (m) => {
          active += 1;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 30));
          active -= 1;
          if (m.key === 'g1-2' && !failedOnce) {
            failedOnce = true;
            handled.push(`${m.key}!`);
            throw new Error('transient');
          }
          handled.push(m.key);
        },
        { backoff: { baseMs: 200, maxMs: 200 } },
      ),
    );
    const rec = recorder(worker);
    const messages = [1, 2, 3, 4].flatMap((i) => [
      { body: `{"i":${i}}`, key: `g1-${i}`, groupId: 'g1' },
      { body: `{"i":${i}}`, key: `g2-${i}`, groupId: 'g2' },
    ]);
    await send(aws, f.queueUrl, messages);
    await rec.until((e) => e.filter((x) => x.processed.outcome === 'success').length === 8);
    expect(handled.filter((k) => k.startsWith('g1'))).toEqual(['g1-1', 'g1-2!', 'g1-2', 'g1-3', 'g1-4']);
    expect(handled.filter((k) => k.startsWith('g2'))).toEqual(['g2-1', 'g2-2', 'g2-3', 'g2-4']);
    expect(peak).toBe(2);
  });
});
