import { backoffMs, toVisibilitySeconds } from '../../src/worker/backoff.js';
import { parseRetryAfter } from '../../src/handlers/webhook.js';

describe('backoffMs', () => {
  it('doubles with each receive, between half and all of the ceiling', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 1000, 60_000, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 1000, 60_000, () => 1))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('never exceeds the cap, even for huge receive counts', () => {
    expect(backoffMs(500, 1000, 300_000, () => 1)).toBe(300_000);
    expect(backoffMs(500, 1000, 300_000, () => 0)).toBe(150_000);
  });

  it('converts to SQS visibility seconds within 0..43200', () => {
    expect(toVisibilitySeconds(0)).toBe(0);
    expect(toVisibilitySeconds(1)).toBe(1);
    expect(toVisibilitySeconds(1500)).toBe(2);
    expect(toVisibilitySeconds(10 ** 9)).toBe(43_200);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
  });
  it('ignores absent or unreadable values and clamps past dates to 0', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('Mon, 23 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });
});
