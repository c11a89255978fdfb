import { jest } from '@jest/globals';
import { PermanentError } from '../../src/core/errors.js';
import type { MessageEvent } from '../../src/core/events.js';
import { FaultyQueue, queueError } from '../helpers/faulty-queue.js';
import { until, world, worker } from '../helpers/runtime-twin.js';

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

const V = 5;
const outcomeCounts = (settled: readonly MessageEvent[]) =>
  settled.reduce<Record<string, number>>((counts, e) => {
    counts[e.processed.outcome] = (counts[e.processed.outcome] ?? 0) + 1;
    return counts;
  }, {});

describe('dead-lettering is final (issue 19, item 3)', () => {
  it('runs a PermanentError handler once and copies it once while deletes fail for 8 s', async () => {
    const w = world({ visibilityTimeoutSeconds: V });
    const source = new FaultyQueue(w.queue);
    const failUntil = Date.now() + 8000;
    source.faults.delete = () => (Date.now() < failUntil ? queueError('InternalError') : undefined);
    let runs = 0;
    const one = worker(
      w,
      () => {
        runs += 1;
        throw new PermanentError('no such order');
      },
      { queue: source, visibilityTimeoutSeconds: V },
    );
    await w.send([{ key: 'poison' }]);
    await one.runtime.start();
    await until(() => w.queue.peek().length === 0, 'the original deleted at last');
    expect(runs).toBe(1);
    expect(w.dlq.peek()).toHaveLength(1);
    expect(w.dlq.peek()[0]?.attributes.DeadLetterReason?.stringValue).toBe('PERMANENT_ERROR');
    // Counted once: later deliveries found the record naming the copy and only deleted.
    expect(outcomeCounts(one.settled).dead_lettered).toBe(1);
    expect(outcomeCounts(one.settled).duplicate).toBeGreaterThanOrEqual(1);
    const record = await w.store.get('work#poison', Date.now());
    expect(record).toMatchObject({ status: 'DEAD_LETTERED', deadLetterReason: 'PERMANENT_ERROR' });
    expect(record?.deadLetterId).toBe(w.dlq.peek()[0]?.messageId);
    await one.runtime.stop(1000);
  });

  it('dead-letters an invalid body once while deletes fail', async () => {
    const w = world({ visibilityTimeoutSeconds: V });
    const source = new FaultyQueue(w.queue);
    const failUntil = Date.now() + 8000;
    source.faults.delete = () => (Date.now() < failUntil ? queueError('InternalError') : undefined);
    const one = worker(w, () => undefined, {
      queue: source,
      visibilityTimeoutSeconds: V,
      validate: (m) =>
        m.rawBody.startsWith('{') ? undefined : { code: 'INVALID_JSON', message: 'not JSON' },
    });
    await w.send([{ key: 'broken', body: 'not json' }]);
    await one.runtime.start();
    await until(() => w.queue.peek().length === 0, 'the original deleted at last');
    expect(w.dlq.peek()).toHaveLength(1);
    expect(w.dlq.peek()[0]?.attributes.DeadLetterReason?.stringValue).toBe('INVALID_JSON');
    expect(outcomeCounts(one.settled).dead_lettered).toBe(1);
    await one.runtime.stop(1000);
  });

  it('counts only copies the dead-letter queue accepted, and sends the copy again without the handler', async () => {
    const w = world({ visibilityTimeoutSeconds: V });
    const dlq = new FaultyQueue(w.dlq);
    const refuseUntil = Date.now() + 6000;
    dlq.faults.send = () => (Date.now() < refuseUntil ? queueError('ServiceUnavailable') : undefined);
    let runs = 0;
    const one = worker(
      w,
      () => {
        runs += 1;
        throw new PermanentError('bad');
      },
      { deadLetters: dlq, visibilityTimeoutSeconds: V },
    );
    await w.send([{ key: 'poison' }]);
    await one.runtime.start();
    await until(() => w.queue.peek().length === 0, 'moved at last');
    expect(runs).toBe(1);
    expect(w.dlq.peek()).toHaveLength(1);
    const counts = outcomeCounts(one.settled);
    expect(counts.dead_lettered).toBe(1);
    expect(counts.retry).toBeGreaterThanOrEqual(1);
    const refused = one.settled.find((e) => e.processed.outcome === 'retry');
    expect(refused?.processed.reason).toMatchObject({
      code: 'DEAD_LETTER_FAILED',
      original: 'PERMANENT_ERROR',
    });
    await one.runtime.stop(1000);
  });

  it('sends a copy too large with our attributes without them, the reason kept in the record (item 10)', async () => {
    const w = world({ visibilityTimeoutSeconds: V });
    const dlq = new FaultyQueue(w.dlq);
    dlq.faults.send = (m) =>
      Object.keys(m.attributes ?? {}).length > 1
        ? queueError('InvalidParameterValue', 'too long')
        : undefined;
    const one = worker(
      w,
      () => {
        throw new PermanentError('bad order');
      },
      { deadLetters: dlq, visibilityTimeoutSeconds: V },
    );
    await w.send([{ key: 'big' }]);
    await one.runtime.start();
    await until(() => w.queue.peek().length === 0, 'moved');
    const [copy] = w.dlq.peek();
    expect(Object.keys(copy?.attributes ?? {})).toEqual(['IdempotencyKey']);
    expect(outcomeCounts(one.settled)).toEqual({ dead_lettered: 1 });
    const record = await w.store.get('work#big', Date.now());
    expect(record).toMatchObject({
      status: 'DEAD_LETTERED',
      deadLetterReason: 'PERMANENT_ERROR',
      deadLetterId: copy?.messageId,
    });
    expect(record?.lastError).toContain('bad order');
    await one.runtime.stop(1000);
  });
});
