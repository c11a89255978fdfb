import { jest } from '@jest/globals';
import { PermanentError, StoreUnavailableError } from '../../src/core/errors.js';
import type { ClaimRequest, ClaimResult, IdempotencyStore } from '../../src/core/idempotency-store.js';
import type { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { until, world, worker } from '../helpers/runtime-twin.js';

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

type Lose = Partial<Record<'claim' | 'complete' | 'fail', number>>;

/** The store, except that the first `lose[op]` calls of each op are applied, then answered with an error. */
function losing(inner: MemoryIdempotencyStore, lose: Lose): IdempotencyStore {
  const lost: Required<Lose> = { claim: 0, complete: 0, fail: 0 };
  async function applied<T>(op: keyof Lose, write: Promise<T>): Promise<T> {
    const result = await write;
    if (lost[op] < (lose[op] ?? 0)) {
      lost[op] += 1;
      throw new StoreUnavailableError(`idempotency store ${op} failed: 500 after the write (injected)`);
    }
    return result;
  }
  return {
    claim: (request: ClaimRequest): Promise<ClaimResult> => applied('claim', inner.claim(request)),
    renew: (...args) => inner.renew(...args),
    complete: (...args) => applied('complete', inner.complete(...args)),
    fail: (...args) => applied('fail', inner.fail(...args)),
    markDeadLettered: (...args) => inner.markDeadLettered(...args),
    generation: (namespace) => inner.generation(namespace),
  };
}

describe('a write applied and then answered with an error (issue 19, item 1)', () => {
  it('is tried again in place with the same owner token and recognised: fence 1, attempt 1, no wait', async () => {
    const w = world({ visibilityTimeoutSeconds: 30 });
    const seen: { fence: number; attempt: number; at: number }[] = [];
    const started = Date.now();
    const one = worker(
      w,
      (_m, context) =>
        void seen.push({ fence: context.fencingToken, attempt: context.attempt, at: Date.now() }),
      { store: losing(w.store, { claim: 2 }) },
    );
    await w.send([{ key: 'k' }]);
    await one.runtime.start();
    await until(() => one.settled.length === 1, 'handled');
    expect(one.outcomes()).toEqual(['success']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ fence: 1, attempt: 1 });
    // Two in-place retries (1 s, then 2 s), not a wait for the lease to lapse (about 30 s).
    expect((seen[0]?.at ?? 0) - started).toBeLessThan(10_000);
    expect(await w.store.get('work#k', Date.now())).toMatchObject({
      status: 'COMPLETED',
      fence: 1,
      attempts: 1,
    });
    await one.runtime.stop(1000);
  });

  it('gives up after the retries and releases until its own lease could be taken over', async () => {
    const w = world({ visibilityTimeoutSeconds: 30 });
    const one = worker(w, () => undefined, { store: losing(w.store, { claim: 3 }) });
    await w.send([{ key: 'k' }]);
    await one.runtime.start();
    await until(() => one.settled.length === 1, 'released');
    expect(one.settled[0]?.processed).toMatchObject({
      outcome: 'retry',
      reason: { code: 'STORE_UNAVAILABLE' },
    });
    expect(one.settled[0]?.processed.retryAfterMs).toBeGreaterThan(20_000);
    await one.runtime.stop(1000);
  });

  it('a complete whose answer was lost is recognised on its retry: success, not lease_lost', async () => {
    const w = world();
    let runs = 0;
    const one = worker(w, () => void (runs += 1), { store: losing(w.store, { complete: 1 }) });
    await w.send([{ key: 'k' }]);
    await one.runtime.start();
    await until(() => one.settled.length === 1, 'handled');
    expect(one.outcomes()).toEqual(['success']);
    expect(runs).toBe(1);
    expect(w.queue.peek()).toHaveLength(0);
    await one.runtime.stop(1000);
  });

  it('a PermanentError whose fail answer was lost is still dead-lettered once, and recorded', async () => {
    const w = world();
    const one = worker(
      w,
      () => {
        throw new PermanentError('bad');
      },
      { store: losing(w.store, { fail: 1 }) },
    );
    await w.send([{ key: 'k' }]);
    await one.runtime.start();
    await until(() => one.settled.length === 1, 'dead-lettered');
    expect(one.outcomes()).toEqual(['dead_lettered']);
    expect(w.dlq.peek()).toHaveLength(1);
    expect(await w.store.get('work#k', Date.now())).toMatchObject({ status: 'DEAD_LETTERED' });
    await one.runtime.stop(1000);
  });
});
