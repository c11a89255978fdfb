import { jest } from '@jest/globals';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { ClaimRequest, ClaimResult, IdempotencyStore } from '../../src/core/idempotency-store.js';
import type { MemoryIdempotencyStore } from '../../src/core/memory-store.js';
import { until, world, worker } from '../helpers/runtime-twin.js';

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

/** The store, except that its first `lose` claims are applied and then answered with an error. */
function losingClaims(inner: MemoryIdempotencyStore, lose: number): IdempotencyStore {
  let lost = 0;
  return {
    claim: async (request: ClaimRequest): Promise<ClaimResult> => {
      const result = await inner.claim(request);
      if (lost < lose) {
        lost += 1;
        throw new StoreUnavailableError('idempotency store claim failed: 500 after the write (injected)');
      }
      return result;
    },
    renew: (...args) => inner.renew(...args),
    complete: (...args) => inner.complete(...args),
    fail: (...args) => inner.fail(...args),
    markDeadLettered: (...args) => inner.markDeadLettered(...args),
    generation: (namespace) => inner.generation(namespace),
  };
}

describe('a claim applied and then answered with an error (issue 19, item 1)', () => {
  it('is tried again in place with the same owner token and recognised: fence 1, attempt 1, no wait', async () => {
    const w = world({ visibilityTimeoutSeconds: 30 });
    const seen: { fence: number; attempt: number; at: number }[] = [];
    const started = Date.now();
    const one = worker(
      w,
      (_m, context) =>
        void seen.push({ fence: context.fencingToken, attempt: context.attempt, at: Date.now() }),
      { store: losingClaims(w.store, 2) },
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
    const one = worker(w, () => undefined, { store: losingClaims(w.store, 3) });
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
});
