import { jest } from '@jest/globals';
import type { MemoryQueue } from '../../src/testing/memory-queue.js';
import type { WorkerMessage } from '../../src/core/message.js';
import type { Queue, ReceiveRequest } from '../../src/core/queue.js';
import { Capacity, defaultReceiveConcurrency } from '../../src/worker/capacity.js';
import { aborted, gate, twin, until, world, worker } from '../helpers/runtime-twin.js';

/**
 * Several receives in flight sharing one capacity (RECEIVE_CONCURRENCY), on the in-memory twins
 * and jest's fake timers: each receive asks only for the room it reserved, so N loops racing never
 * pass MAX_IN_FLIGHT; FIFO groups keep their order; stop() ends every loop.
 */

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

/** Receive round trip added by the queue (virtual time): what makes one loop the ceiling. */
const ROUND_TRIP_MS = 60;

/** The queue as the worker sees it, with receives counted while they are outstanding. */
interface Watched {
  readonly queue: Queue;
  /** Receives under way now, and the most at once. */
  outstanding: number;
  peak: number;
  /** Sum of maxMessages of the receives under way. */
  asked: number;
  /** Receives started after `closed` was set. */
  lateReceives: number;
  closed: boolean;
}

/** Wraps a MemoryQueue: each receive takes ROUND_TRIP_MS first and is counted while it runs. */
function watched(queue: MemoryQueue, check: (w: Watched, request: ReceiveRequest) => void): Watched {
  const w: Watched = { queue, outstanding: 0, peak: 0, asked: 0, lateReceives: 0, closed: false };
  const receive = async (request: ReceiveRequest) => {
    if (w.closed) w.lateReceives += 1;
    w.outstanding += 1;
    w.asked += request.maxMessages;
    w.peak = Math.max(w.peak, w.outstanding);
    check(w, request);
    try {
      await new Promise((resolve) => setTimeout(resolve, ROUND_TRIP_MS));
      return await queue.receive(request);
    } finally {
      w.outstanding -= 1;
      w.asked -= request.maxMessages;
    }
  };
  const view = new Proxy(queue, {
    get(target, property) {
      if (property === 'receive') return receive;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return Object.assign(w, { queue: view });
}

/** A handler that takes 10 to 190 ms of virtual time, by message, and counts how many run. */
function timedHandler() {
  const stats = { running: 0, peak: 0, seen: new Map<string, number>() };
  const handle = async (message: WorkerMessage) => {
    stats.running += 1;
    stats.peak = Math.max(stats.peak, stats.running);
    stats.seen.set(message.key, (stats.seen.get(message.key) ?? 0) + 1);
    const n = Number(message.key.slice(1));
    await new Promise((resolve) => setTimeout(resolve, 10 + ((n * 37) % 19) * 10));
    stats.running -= 1;
  };
  return { stats, handle };
}

describe('Capacity reservations', () => {
  it('counts reserved room against MAX_IN_FLIGHT and the receive limit, and frees it on unreserve', async () => {
    const capacity = new Capacity(23, 30);
    await expect(capacity.reserve(10)).resolves.toBe(10);
    await expect(capacity.reserve(10)).resolves.toBe(10);
    await expect(capacity.reserve(10)).resolves.toBe(3);
    expect(capacity.room).toBe(0);
    const fourth = capacity.reserve(10);
    capacity.unreserve(10);
    capacity.take(4);
    // The fourth receive waits until room frees, and gets only what fits (23 - 4 - 13 reserved).
    await expect(fourth).resolves.toBe(6);
    expect(capacity.reserved).toBe(19);
    capacity.unreserve(19);
    // 4 taken of a limit of 30: 26 left, 23 - 4 in flight = 19 fit.
    expect(capacity.room).toBe(19);
    const waiting = (async () => {
      capacity.take(19);
      return capacity.reserve(10);
    })();
    capacity.close();
    await expect(waiting).resolves.toBe(0);
  });

  it('derives RECEIVE_CONCURRENCY from MAX_IN_FLIGHT and the batch size, between 1 and 10', () => {
    expect(defaultReceiveConcurrency(1, 10)).toBe(1);
    expect(defaultReceiveConcurrency(50, 10)).toBe(5);
    expect(defaultReceiveConcurrency(51, 10)).toBe(6);
    expect(defaultReceiveConcurrency(50, 1)).toBe(10);
    expect(defaultReceiveConcurrency(1000, 10)).toBe(10);
  });
});

describe('several receives in flight (RECEIVE_CONCURRENCY) on the twins', () => {
  it('keeps several receives outstanding, and never holds or asks for more than MAX_IN_FLIGHT', async () => {
    const w = world();
    const { stats, handle } = timedHandler();
    let violations = 0;
    const view = watched(w.queue, (state, request) => {
      if (runtimeInFlight() + state.asked > 23 || request.maxMessages > 10) violations += 1;
    });
    const one = worker(w, handle, { queue: view.queue, maxInFlight: 23, receiveConcurrency: 5 });
    const runtimeInFlight = () => one.runtime.inFlight;
    await w.send(Array.from({ length: 300 }, (_, i) => ({ key: `k${i}` })));
    await one.runtime.start();
    await until(() => one.settled.length === 300, 'all settled');
    expect(violations).toBe(0);
    expect(view.peak).toBeGreaterThan(1);
    expect(stats.peak).toBeLessThanOrEqual(23);
    expect(stats.peak).toBe(23);
    expect([...stats.seen.values()].every((n) => n === 1)).toBe(true);
    expect(stats.seen.size).toBe(300);
    await one.runtime.stop(1000);
  });

  it('moves more messages per second of virtual time than one loop when receives are slow', async () => {
    const settledIn = async (concurrency: number) => {
      const w = world();
      const view = watched(w.queue, () => {});
      const one = worker(w, () => {}, {
        queue: view.queue,
        maxInFlight: 50,
        receiveConcurrency: concurrency,
      });
      await w.send(Array.from({ length: 500 }, (_, i) => ({ key: `k${i}` })));
      await one.runtime.start();
      await jest.advanceTimersByTimeAsync(1000);
      const count = one.settled.length;
      const stopped = one.runtime.stop(1000);
      await jest.advanceTimersByTimeAsync(10_000);
      await stopped;
      return { count, peak: view.peak };
    };
    const single = await settledIn(1);
    const five = await settledIn(5);
    // One loop moves at most a batch per round trip: 1000 / 60 ms * 10 = 166 messages.
    expect(single.peak).toBe(1);
    expect(single.count).toBeLessThanOrEqual(170);
    expect(five.peak).toBe(5);
    expect(five.count).toBeGreaterThan(3 * single.count);
  });

  it('takes exactly the receive limit (consume --count) with several loops', async () => {
    const t = twin(() => {}, { receiveLimit: 7, receiveConcurrency: 3, batchSize: 2 });
    await t.send(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}` })));
    await t.runtime.start();
    await until(() => t.settled.length === 7, 'seven settled');
    await jest.advanceTimersByTimeAsync(30_000);
    expect(t.settled).toHaveLength(7);
    expect(t.queue.counts().visible).toBe(13);
    await t.runtime.stop(1000);
  });

  it('keeps each FIFO group in order, one message at a time, across loops and retries', async () => {
    const w = world({ fifo: true });
    const order = new Map<string, string[]>();
    const running = new Set<string>();
    let overlaps = 0;
    const failedOnce = new Set<string>();
    const handle = async (message: WorkerMessage) => {
      const group = message.groupId ?? '';
      if (running.has(group)) overlaps += 1;
      running.add(group);
      const n = Number(message.key.split('-')[1]);
      await new Promise((resolve) => setTimeout(resolve, 5 + ((n * 7) % 5) * 20));
      running.delete(group);
      // Every fourth message of a group fails on its first attempt, and is retried in its place.
      if (n % 4 === 2 && !failedOnce.has(message.key)) {
        failedOnce.add(message.key);
        throw new Error('first attempt fails');
      }
      order.set(group, [...(order.get(group) ?? []), message.key]);
    };
    const view = watched(w.queue, () => {});
    const one = worker(w, handle, {
      queue: view.queue,
      maxInFlight: 12,
      batchSize: 4,
      receiveConcurrency: 4,
      backoff: { baseMs: 200, maxMs: 200 },
    });
    const groups = ['a', 'b', 'c', 'd', 'e', 'f'];
    const sends = [];
    for (let n = 0; n < 12; n += 1) for (const g of groups) sends.push({ key: `${g}-${n}`, groupId: g });
    await w.send(sends);
    await one.runtime.start();
    const done = () => [...order.values()].reduce((sum, keys) => sum + keys.length, 0) === 72;
    await until(done, 'every message handled');
    expect(overlaps).toBe(0);
    expect(view.peak).toBeGreaterThan(1);
    for (const g of groups) {
      expect(order.get(g)).toEqual(Array.from({ length: 12 }, (_, n) => `${g}-${n}`));
    }
    await one.runtime.stop(1000);
  });

  it('stop() ends every loop: long polls, waits for room, and no receive starts afterwards', async () => {
    const w = world();
    const view = watched(w.queue, () => {});
    const hold = gate();
    const one = worker(
      w,
      async (_m, { signal }) => {
        await Promise.race([hold.promise, aborted(signal)]);
      },
      { queue: view.queue, maxInFlight: 10, batchSize: 5, receiveConcurrency: 4 },
    );
    await w.send(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}` })));
    await one.runtime.start();
    // Two loops took 5 each; the other two wait for room that never frees.
    await until(() => one.runtime.inFlight === 10, 'ten in flight');
    expect(view.outstanding).toBe(0);
    await w.send([{ key: 'late' }]);
    const stopped = one.runtime.stop(1000);
    view.closed = true;
    await jest.advanceTimersByTimeAsync(10_000);
    await stopped;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(view.lateReceives).toBe(0);
    expect(view.outstanding).toBe(0);
    expect(w.queue.counts().visible).toBe(11);
  });

  it('stop() aborts every long poll under way and waits for them', async () => {
    const w = world();
    const view = watched(w.queue, () => {});
    const one = worker(w, () => {}, { queue: view.queue, maxInFlight: 40, receiveConcurrency: 4 });
    await one.runtime.start();
    await until(() => view.outstanding === 4, 'four long polls');
    let outstandingAtStop: number | undefined;
    const stopped = one.runtime.stop(1000).then(() => (outstandingAtStop = view.outstanding));
    view.closed = true;
    await jest.advanceTimersByTimeAsync(ROUND_TRIP_MS);
    await stopped;
    expect(outstandingAtStop).toBe(0);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(view.lateReceives).toBe(0);
  });
});
