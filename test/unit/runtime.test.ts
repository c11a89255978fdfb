import { jest } from '@jest/globals';
import { PermanentError } from '../../src/core/errors.js';
import type { WorkerMessage } from '../../src/core/message.js';
import { aborted, gate, twin, until, VISIBILITY_SECONDS } from '../helpers/runtime-twin.js';

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('WorkerRuntime on the in-memory queue and store (fake timers)', () => {
  it('handles each message once and deletes it', async () => {
    const seen: string[] = [];
    const t = twin((m) => void seen.push(m.key));
    await t.send([{ key: 'a' }, { key: 'b' }, { key: 'c' }]);
    await t.runtime.start();
    await until(() => t.settled.length === 3, 'three settled');
    expect(seen.sort()).toEqual(['a', 'b', 'c']);
    expect(t.outcomes()).toEqual(['success', 'success', 'success']);
    expect(t.queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await t.runtime.stop(1000);
  });

  it('never has more than MAX_IN_FLIGHT messages in flight, and does reach it', async () => {
    const release = gate();
    let running = 0;
    let peak = 0;
    const t = twin(
      async () => {
        running += 1;
        peak = Math.max(peak, running);
        await release.promise;
        running -= 1;
      },
      { maxInFlight: 15, batchSize: 10 },
    );
    const asked: number[] = [];
    t.queue.intercept('receive', (request) => {
      // Every receive asks for no more than fits beside what is in flight.
      asked.push(request.maxMessages);
      expect(t.runtime.inFlight + request.maxMessages).toBeLessThanOrEqual(15);
    });
    await t.send(Array.from({ length: 40 }, (_, i) => ({ key: `k${i}` })));
    await t.runtime.start();
    await until(() => t.runtime.inFlight === 15, '15 in flight');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(t.runtime.inFlight).toBe(15);
    expect(t.queue.counts().inFlight).toBe(15);
    release.open();
    await until(() => t.settled.length === 40, 'all settled');
    expect(peak).toBe(15);
    expect(asked.slice(0, 2)).toEqual([10, 5]);
    await t.runtime.stop(1000);
  });

  it('with batched settles, spends at most 0.22 SQS requests per message', async () => {
    const t = twin(() => {}, { batchFlushMs: 20 });
    await t.send(Array.from({ length: 200 }, (_, i) => ({ key: `k${i}` })));
    const sendsBefore = t.queue.calls.send;
    await t.runtime.start();
    await until(() => t.settled.length === 200, 'all settled');
    const { receive, delete: single, deleteBatch, changeVisibility, changeVisibilityBatch } = t.queue.calls;
    const requests = receive + single + deleteBatch + changeVisibility + changeVisibilityBatch;
    expect(t.queue.calls.send).toBe(sendsBefore);
    expect(single).toBe(0);
    expect(requests / 200).toBeLessThanOrEqual(0.22);
    await t.runtime.stop(1000);
  });

  it('runs a second delivery of a key after the first, and counts it as a duplicate', async () => {
    let runs = 0;
    const t = twin(() => void (runs += 1));
    await t.send([
      { key: 'same', body: '{"order":1}' },
      { key: 'same', body: '{"order":1}' },
    ]);
    await t.runtime.start();
    await until(() => t.settled.length === 2, 'both settled');
    expect(runs).toBe(1);
    expect(t.outcomes()).toEqual(['success', 'duplicate']);
    await t.runtime.stop(1000);
  });

  it('retries a failure after the backoff, long before the visibility timeout', async () => {
    let calls = 0;
    const t = twin(() => {
      calls += 1;
      if (calls === 1) throw new Error('flaky');
    });
    await t.send([{ key: 'a' }]);
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'first try');
    const failedAt = Date.now();
    await until(() => t.settled.length === 2, 'second try');
    // receiveCount 1, base 1 s, jitter fixed at its top: back after 1 s.
    expect(Date.now() - failedAt).toBeLessThanOrEqual(1100);
    expect(t.outcomes()).toEqual(['retry', 'success']);
    expect(t.settled[0]?.processed.reason?.code).toBe('HANDLER_ERROR');
    await t.runtime.stop(1000);
  });

  it('dead-letters a PermanentError at once with its reason, and keeps running', async () => {
    const t = twin((m) => {
      if (m.key === 'bad') throw new PermanentError('no such order');
    });
    await t.send([{ key: 'bad' }]);
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'dead-lettered');
    await t.send([{ key: 'good' }]);
    await until(() => t.settled.length === 2, 'next one handled');
    expect(t.outcomes()).toEqual(['dead_lettered', 'success']);
    const [copy] = t.dlq.peek();
    expect(copy?.attributes.DeadLetterReason?.stringValue).toBe('PERMANENT_ERROR');
    expect(copy?.attributes.DeadLetterMessage?.stringValue).toContain('no such order');
    expect(copy?.attributes.IdempotencyKey?.stringValue).toBe('bad');
    expect(t.queue.peek()).toHaveLength(0);
    await t.runtime.stop(1000);
  });

  it('without a dead-letter queue, parks a permanent failure as NO_DEAD_LETTER_QUEUE', async () => {
    const t = twin(
      () => {
        throw new PermanentError('nope');
      },
      { noDlq: true },
    );
    await t.send([{ key: 'a' }]);
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'settled');
    expect(t.outcomes()).toEqual(['retry']);
    expect(t.settled[0]?.processed.reason?.code).toBe('NO_DEAD_LETTER_QUEUE');
    expect(t.queue.peek()).toHaveLength(1);
    await t.runtime.stop(1000);
  });

  it('a message that keeps failing reaches the DLQ through redrive after maxReceiveCount receives', async () => {
    let runs = 0;
    const t = twin(
      () => {
        runs += 1;
        throw new Error('always');
      },
      { maxReceiveCount: 3 },
    );
    await t.send([{ key: 'a' }]);
    await t.runtime.start();
    await until(() => t.dlq.peek().length === 1, 'moved by redrive');
    expect(runs).toBe(3);
    expect(t.queue.peek()).toHaveLength(0);
    await t.runtime.stop(1000);
  });

  it('aborts a handler past HANDLER_TIMEOUT and retries the message', async () => {
    const t = twin((_m, { signal }) => aborted(signal), { handlerTimeoutMs: 5000 });
    await t.send([{ key: 'slow' }]);
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'timed out');
    expect(t.settled[0]?.processed.reason?.code).toBe('ABORTED');
    expect(t.settled[0]?.processed.reason?.message).toContain('5000 ms');
    expect((await t.store.get('work#slow', Date.now()))?.status).toBe('FAILED');
  });

  it('keeps a handler slower than the visibility timeout invisible and its lease renewed', async () => {
    const finish = gate();
    const t = twin(() => finish.promise);
    await t.send([{ key: 'long' }]);
    await t.runtime.start();
    await until(() => t.runtime.inFlight === 1, 'started');
    for (let i = 0; i < 10; i += 1) {
      await jest.advanceTimersByTimeAsync(VISIBILITY_SECONDS * 1000);
      expect(t.queue.counts()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    }
    expect(t.store.calls.renew).toBeGreaterThanOrEqual(19);
    finish.open();
    await until(() => t.settled.length === 1, 'finished');
    expect(t.outcomes()).toEqual(['success']);
    await t.runtime.stop(1000);
  });

  it('aborts the handler when a heartbeat finds the key taken over, and reports lease_lost', async () => {
    const lost: WorkerMessage[] = [];
    const t = twin((_m, { signal }) => aborted(signal));
    t.runtime.on('lease_lost', (m) => lost.push(m));
    await t.send([{ key: 'k' }]);
    await t.runtime.start();
    await until(() => t.store.calls.claim === 1, 'claimed');
    // Another worker takes the key over as if our lease had lapsed (it runs V + V/3 - M).
    const record = await t.store.get('work#k', Date.now());
    const later = (record?.leaseExpiresAtMs ?? 0) + 1;
    await t.store.claim({
      pk: 'work#k',
      payloadHash: record?.payloadHash ?? '',
      owner: 'b:1',
      now: later,
      leaseExpiresAtMs: later + 30_000,
      expiresAt: Math.ceil(later / 1000) + 3600,
    });
    await until(() => t.settled.length === 1, 'settled');
    expect(lost.map((m) => m.key)).toEqual(['k']);
    expect(t.outcomes()).toEqual(['lease_lost']);
    expect((await t.store.get('work#k', Date.now()))?.owner).toBe('b:1');
    await t.runtime.stop(1000);
  });

  it('drains on stop: an in-flight handler finishes within the shutdown timeout', async () => {
    const t = twin(async (_m, { signal }) => {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      signal.throwIfAborted();
    });
    await t.send([{ key: 'a' }]);
    await t.runtime.start();
    await until(() => t.runtime.inFlight === 1, 'started');
    const stopped = t.runtime.stop(10_000);
    await until(() => t.settled.length === 1, 'drained');
    await stopped;
    expect(t.outcomes()).toEqual(['success']);
    expect(t.queue.peek()).toHaveLength(0);
  });

  it('on stop past the shutdown timeout, aborts the handler and makes the message visible at once', async () => {
    const t = twin((_m, { signal }) => aborted(signal));
    await t.send([{ key: 'a' }]);
    await t.runtime.start();
    await until(() => t.runtime.inFlight === 1, 'started');
    const stopping = t.runtime.stop(3000);
    let done = false;
    void stopping.then(() => (done = true));
    await jest.advanceTimersByTimeAsync(2900);
    expect(done).toBe(false);
    await until(() => done, 'stopped');
    expect(t.settled[0]?.processed.reason?.code).toBe('ABORTED');
    expect((await t.store.get('work#a', Date.now()))?.status).toBe('FAILED');
    // Released so that it comes back once the long poll that stop() aborted is surely over (an
    // aborted poll may still be answered server-side), not waited for.
    const pollEnds = t.runtime.quietUntil;
    expect(pollEnds).toBeGreaterThan(Date.now());
    await jest.advanceTimersByTimeAsync(pollEnds - Date.now() + 1000);
    expect(t.queue.counts()).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
  });

  it('sends pending batched deletes at stop: stop() resolves only once they are answered', async () => {
    const t = twin(() => {}, { batchFlushMs: 8000 });
    await t.send([{ key: 'a' }]);
    await t.runtime.start();
    await until(() => t.store.calls.complete === 1, 'handled');
    expect(t.queue.calls.deleteBatch).toBe(0); // waiting out its 8 s flush delay
    let stoppedAt: number | undefined;
    const stopAt = performance.now();
    void t.runtime.stop(1000).then(() => (stoppedAt = performance.now()));
    await until(() => stoppedAt !== undefined, 'stopped');
    expect(t.queue.calls.deleteBatch).toBe(1);
    expect(t.queue.peek()).toEqual([]);
    expect(t.outcomes()).toEqual(['success']);
    // The drain did not wait out the flush delay (nor abort a handler that was done): the delete
    // went out when the stop began. stoppedAt - stopAt is virtual time.
    expect((stoppedAt ?? Infinity) - stopAt).toBeLessThan(1000);
  });

  it('stops receiving after receiveLimit messages, asking for no more than are left', async () => {
    const t = twin(() => {}, { receiveLimit: 12 });
    const asked: number[] = [];
    t.queue.intercept('receive', (request) => void asked.push(request.maxMessages));
    await t.send(Array.from({ length: 25 }, (_, i) => ({ key: `k${i}` })));
    await t.runtime.start();
    await until(() => t.settled.length === 12, 'twelve settled');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(asked).toEqual([10, 2]);
    expect(t.queue.counts().visible).toBe(13);
    await t.runtime.stop(1000);
  });

  it('backs off after failed receives, doubling the pause, and recovers', async () => {
    const t = twin(() => {});
    const failures: unknown[] = [];
    t.runtime.on('poll_failed', (error) => failures.push(error));
    let refuse = true;
    t.queue.intercept('receive', () => {
      if (refuse) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    });
    await t.runtime.start();
    // Pauses of 1, 2, 4, 8, 8 s: five failures in the first 23 s, not a spin.
    await jest.advanceTimersByTimeAsync(22_900);
    expect(failures).toHaveLength(5);
    refuse = false;
    await t.send([{ key: 'a' }]);
    await until(() => t.settled.length === 1, 'recovered');
    expect(t.runtime.lastPollAt).toBeDefined();
    await t.runtime.stop(1000);
  });

  it('reports a failed delete as settle_failed and leaves the message for redelivery', async () => {
    const t = twin(() => {});
    const failed: string[] = [];
    t.runtime.on('settle_failed', (_m, operation) => failed.push(operation));
    t.queue.intercept('delete', () => {
      throw new Error('delete refused');
    });
    await t.send([{ key: 'a' }]);
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'settled');
    expect(failed).toEqual(['delete']);
    expect(t.queue.peek()).toHaveLength(1);
    await t.runtime.stop(1000);
  });

  it('turns a fault in its own code into a retry with INTERNAL_ERROR', async () => {
    const t = twin(() => {}, {
      validate: () => {
        throw new TypeError('bug');
      },
    });
    await t.send([{ key: 'a' }]);
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'settled');
    expect(t.settled[0]?.processed.reason).toEqual({ code: 'INTERNAL_ERROR', message: 'TypeError: bug' });
    await t.runtime.stop(1000);
  });

  it('FIFO: keeps the order of a group across a failure, and runs groups side by side', async () => {
    const order: string[] = [];
    let failedOnce = false;
    const t = twin(
      (m) => {
        order.push(m.key);
        if (m.key === 'g1-1' && !failedOnce) {
          failedOnce = true;
          throw new Error('first try fails');
        }
      },
      { fifo: true },
    );
    await t.send([
      { key: 'g1-1', groupId: 'g1' },
      { key: 'g1-2', groupId: 'g1' },
      { key: 'g2-1', groupId: 'g2' },
    ]);
    await t.runtime.start();
    await until(() => t.outcomes().filter((o) => o === 'success').length === 3, 'all three done');
    const g1 = order.filter((k) => k.startsWith('g1'));
    expect(g1).toEqual(['g1-1', 'g1-1', 'g1-2']);
    expect(order.indexOf('g2-1')).toBeLessThan(order.lastIndexOf('g1-1'));
    await t.runtime.stop(1000);
  });
});
