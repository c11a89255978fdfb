import { jest } from '@jest/globals';
import { systemClock, type Clock } from '../../src/core/clock.js';
import type { Claim } from '../../src/core/idempotency-store.js';
import { Hold } from '../../src/worker/lease.js';

/**
 * The first renewal goes with the first visibility change after the claim was asked: P after the
 * receipt, never at once. The wall clock counts whole milliseconds and the monotonic one fractions,
 * so a claim asked within the receipt's millisecond and answered in a later fraction of one used to
 * compute a time of asking a fraction before the receipt: the first renewal fell on the receipt
 * itself, already past, and went out at once (the bench's extra 0.10-0.16 UpdateItem per message).
 */

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

const CLAIM: Claim = { pk: 'q#k', owner: 'a:1', fence: 1, attempt: 1 };

it('does not renew at once a lease granted on a claim asked in the receipt millisecond', () => {
  const t = { wall: 1_750_000_000_000, mono: 1000.7 };
  const clock: Clock = { ...systemClock, now: () => t.wall, monotonic: () => t.mono };
  const renewals: number[] = [];
  const h = new Hold({
    queue: { changeVisibility: async () => {} },
    receiptHandle: 'r-1',
    idempotency: { renew: async (_claim, lease) => (renewals.push(lease ?? 0), true) },
    clock,
    visibilityTimeoutSeconds: 30,
    skewMs: 1000,
    receivedAt: t.wall,
    stopping: new AbortController().signal,
    abort: () => {},
    onLeaseLost: () => {},
    onError: () => {},
  });
  // Asked in the receipt's millisecond, answered 4.5 ms later (a fraction earlier in its millisecond).
  const terms = h.terms();
  t.wall += 5;
  t.mono += 4.5;
  expect(h.granted(CLAIM, terms)).toBe(true);
  expect(renewals).toEqual([]);
  h.end();
});
