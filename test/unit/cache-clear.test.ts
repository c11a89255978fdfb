import { jest } from '@jest/globals';
import { cacheQuietMs, clearWithCaches } from '../../src/core/completed-cache.js';
import { delay, until, world, worker } from '../helpers/runtime-twin.js';

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the completed-key cache never contradicts the store', () => {
  it('after records clear, a cached key is handled again, even on a busy worker', async () => {
    const w = world();
    const runs: string[] = [];
    const busy = worker(w, (m) => void runs.push(m.key), { cacheSize: 100 });
    await busy.runtime.start();
    const order = { key: 'order-1', body: '{"order":1}' };
    for (let i = 0; i < 3; i += 1) {
      await w.send([order]);
      await until(() => busy.settled.length === i + 1, `copy ${i + 1}`);
    }
    expect(busy.outcomes()).toEqual(['success', 'duplicate', 'duplicate']);
    const claimsBefore = w.store.calls.claim;
    await w.send([order]);
    await until(() => busy.settled.length === 4, 'a copy answered from the cache');
    expect(w.store.calls.claim).toBe(claimsBefore);

    // Other keys keep the worker claiming (so its cache stays fresh) while an operator clears.
    let cleared = false;
    void clearWithCaches(
      () => w.store.bumpGeneration('work'),
      () => w.store.clear('work#'),
      { quietMs: cacheQuietMs(1000), sleep: delay },
    ).then(() => (cleared = true));
    for (let i = 0; !cleared; i += 1) {
      await w.send([{ key: `other-${i}` }]);
      await jest.advanceTimersByTimeAsync(500);
    }
    await w.send([order]);
    await until(() => runs.filter((k) => k === 'order-1').length === 2, 'handled again');
    await busy.runtime.stop(0);
  });
});
