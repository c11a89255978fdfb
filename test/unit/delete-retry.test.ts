import { jest } from '@jest/globals';
import { deleteRetryDelays } from '../../src/worker/settle.js';
import { FaultyQueue, queueError } from '../helpers/faulty-queue.js';
import { until, world, worker } from '../helpers/runtime-twin.js';

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('a failed delete is tried again while the message is still invisible', () => {
  it('waits 250 ms doubling, all within half the visibility timeout', () => {
    expect(deleteRetryDelays(5)).toEqual([250, 500, 1000]);
    expect(deleteRetryDelays(30)).toEqual([250, 500, 1000, 2000, 4000]);
    expect(deleteRetryDelays(0.4)).toEqual([]);
  });

  it('a handled message whose deletes fail for 1.5 s is deleted by its own delivery: one receive, one run', async () => {
    const w = world({ visibilityTimeoutSeconds: 5 });
    const source = new FaultyQueue(w.queue);
    const failUntil = Date.now() + 1500;
    let refused = 0;
    source.faults.delete = () => {
      if (Date.now() >= failUntil) return undefined;
      refused += 1;
      return queueError('InternalError');
    };
    let runs = 0;
    const one = worker(w, () => void (runs += 1), { queue: source, visibilityTimeoutSeconds: 5 });
    await w.send([{ key: 'k' }]);
    await one.runtime.start();
    await until(() => w.queue.peek().length === 0, 'deleted');
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(runs).toBe(1);
    expect(one.outcomes()).toEqual(['success']);
    await one.runtime.stop(1000);
  });

  it('does not retry a receipt handle SQS no longer takes', async () => {
    const w = world({ visibilityTimeoutSeconds: 5 });
    const source = new FaultyQueue(w.queue);
    let refused = 0;
    source.faults.delete = () => {
      refused += 1;
      return refused === 1 ? queueError('ReceiptHandleIsInvalid') : undefined;
    };
    const one = worker(w, () => undefined, { queue: source, visibilityTimeoutSeconds: 5 });
    await w.send([{ key: 'k' }]);
    await one.runtime.start();
    await until(() => one.settled.length >= 1, 'settled');
    expect(refused).toBe(1);
    await one.runtime.stop(1000);
  });
});
