/**
 * Visibility delay after a retryable failure: exponential in the receive count, capped, with
 * "equal jitter" (half fixed, half random) so that a burst of failures spreads out but never
 * comes back at once. receiveCount 1 -> about base, 2 -> about 2*base, 3 -> 4*base, ...
 */
export function backoffMs(
  receiveCount: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
) {
  const exponent = Math.min(Math.max(receiveCount, 1) - 1, 30);
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** SQS accepts visibility timeouts from 0 to 43,200 seconds (12 hours). */
export function toVisibilitySeconds(ms: number): number {
  return Math.min(43_200, Math.max(0, Math.ceil(ms / 1000)));
}
