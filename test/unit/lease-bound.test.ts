import { jest } from '@jest/globals';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { IdempotencyStore } from '../../src/core/idempotency-store.js';
import type { Queue } from '../../src/core/queue.js';
import { Faults } from '../helpers/faults.js';
import { aborted, delay, until, world, worker } from '../helpers/runtime-twin.js';

/**
 * The visibility and the lease run apart (docs/guarantees.md, "Lease and visibility: the bound"),
 * played out by whole workers on the twins: V = 5 s, M = 500 ms.
 */
const V = { visibilityTimeoutSeconds: 5, skewMs: 500 } as const;

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

/** A handler that works `ms` unless its signal fires first; counts its runs and aborts. */
function timed(ms: number) {
  const log = { runs: 0, aborts: [] as unknown[] };
  const handler = async (_m: unknown, { signal }: { signal: AbortSignal }) => {
    log.runs += 1;
    await Promise.race([delay(ms), aborted(signal)]).catch((error: unknown) => {
      log.aborts.push(error);
      throw error;
    });
  };
  return { log, handler };
}

describe('visibility and lease apart, on the twins', () => {
  it("one worker's DynamoDB cut (calls hang 9 s, then fail) for 30 s: its message is not run again elsewhere", async () => {
    const w = world(V);
    const store = new Faults<IdempotencyStore>(w.store);
    let cut = false;
    for (const method of ['claim', 'renew', 'complete', 'fail'] as const) {
      store.before(method, async () => {
        if (!cut) return;
        await delay(9000); // 3 attempts x 3 s: a dropped connection
        throw new StoreUnavailableError('timed out');
      });
    }
    const a = timed(3000);
    const b = timed(3000);
    const workerA = worker(w, a.handler, { ...V, instanceId: 'a', store: store.subject });
    const workerB = worker(w, b.handler, { ...V, instanceId: 'b' });
    await w.send([{ key: 'k' }]);
    await workerA.runtime.start();
    await until(() => a.log.runs === 1, 'A runs the handler');
    await workerB.runtime.start();
    await jest.advanceTimersByTimeAsync(1000);
    cut = true;
    await jest.advanceTimersByTimeAsync(30_000);
    cut = false;
    await until(() => workerA.settled.length === 1, 'A records the result once its store is back');
    expect(workerA.outcomes()).toEqual(['success']);
    expect([a.log.runs, b.log.runs, w.queue.peek().length]).toEqual([1, 0, 0]);
    await Promise.all([workerA.runtime.stop(0), workerB.runtime.stop(0)]);
  });

  it('every store answer 2 s late (L = 2 s, under 2V/3 - M): no 6 s handler is aborted, each key runs once', async () => {
    const w = world(V);
    const store = new Faults<IdempotencyStore>(w.store);
    // The writes land at once and their answers come 2 s later, as through the slow-store proxy.
    for (const method of ['claim', 'renew', 'complete', 'fail', 'generation', 'markDeadLettered'] as const) {
      store.after(method, () => delay(2000));
    }
    const runs = new Map<string, number>();
    const aborts: unknown[] = [];
    const handler = async (message: { key: string }, { signal }: { signal: AbortSignal }) => {
      runs.set(message.key, (runs.get(message.key) ?? 0) + 1);
      await Promise.race([delay(6000), aborted(signal)]).catch((error: unknown) => {
        aborts.push(error);
        throw error;
      });
    };
    const one = worker(w, handler, { ...V, store: store.subject });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    await w.send(keys.map((key) => ({ key })));
    await one.runtime.start();
    await until(() => one.settled.length >= keys.length && w.queue.peek().length === 0, 'all settled');
    expect({ aborts: aborts.length, runs: [...runs.values()], outcomes: one.outcomes() }).toEqual({
      aborts: 0,
      runs: keys.map(() => 1),
      outcomes: keys.map(() => 'success'),
    });
    await one.runtime.stop(0);
  });

  it('a 2 s batch flush delay (over V/3) aborts no handler whose renewals succeed', async () => {
    const w = world(V);
    const h = timed(30_000);
    const one = worker(w, h.handler, { ...V, batchFlushMs: 2000 });
    await w.send([{ key: 'k' }]);
    await one.runtime.start();
    await until(() => one.settled.length === 1, 'settled');
    expect(one.outcomes()).toEqual(['success']);
    expect([h.log.runs, h.log.aborts.length]).toEqual([1, 0]);
    await one.runtime.stop(0);
  });

  it('an SQS stall (no visibility change answered) aborts no handler whose renewals succeed', async () => {
    const w = world(V);
    const queue = new Faults<Queue>(w.queue);
    const heal = queue.cut('changeVisibility');
    const h = timed(30_000);
    const one = worker(w, h.handler, { ...V, queue: queue.subject });
    await w.send([{ key: 'k' }]);
    await one.runtime.start();
    await until(() => one.settled.length > 0, 'settled');
    heal();
    // The message came back meanwhile (nothing could extend its visibility): its copies waited
    // for the lease in their lane, and found the key done.
    expect(new Set(one.outcomes().slice(1))).toEqual(new Set(['duplicate']));
    expect(one.outcomes()[0]).toBe('success');
    expect([h.log.runs, h.log.aborts.length]).toEqual([1, 0]);
    await one.runtime.stop(0);
  });
});
