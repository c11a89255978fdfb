import { HandlerTimeoutError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { Delivery } from '../../src/worker/delivery.js';
import { message, receivedMessage, service } from '../helpers/fakes.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** One delivery on a manual clock; its handler runs until its signal fires. */
function delivery(clock: ManualClock, handlerTimeoutMs: number) {
  const aborts: { at: number; reason: unknown }[] = [];
  const changes: number[] = [];
  const d = new Delivery(receivedMessage(), message('k'), silentLogger, {
    queue: {
      changeVisibility: async () => void changes.push(clock.monotonic()),
    } as unknown as ConstructorParameters<typeof Delivery>[3]['queue'],
    idempotency: service(new MemoryIdempotencyStore(), clock),
    handler: (_m, { signal }) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => {
          aborts.push({ at: clock.monotonic(), reason: signal.reason });
          reject(signal.reason as Error);
        }),
      ),
    clock,
    visibilityTimeoutSeconds: 30,
    handlerTimeoutMs,
    skewMs: 1000,
    stopping: new AbortController().signal,
    shutdown: new AbortController().signal,
    onLeaseLost: () => {},
    onHeartbeatError: () => {},
  });
  return { d, aborts, changes };
}

describe('Delivery on the injected clock', () => {
  it('HANDLER_TIMEOUT is a monotonic timer: a wall clock stepped an hour ahead does not fire it', async () => {
    const clock = new ManualClock(1_750_000_000_000, 0);
    const t = delivery(clock, 60_000);
    const run = t.d.run();
    await clock.advanceAsync(0);
    clock.stepWall(3_600_000);
    await clock.advanceAsync(59_999);
    expect(t.aborts).toEqual([]);
    // Visibility changes every V/3 = 10 s of monotonic time from the receipt, unmoved by the step.
    expect(t.changes).toEqual([10_000, 20_000, 30_000, 40_000, 50_000]);
    await clock.advanceAsync(1);
    expect(t.aborts.map((a) => [a.at, a.reason instanceof HandlerTimeoutError])).toEqual([[60_000, true]]);
    const processed = await run;
    expect(processed.outcome).toBe('retry');
    expect(t.d.heldMs()).toBe(60_000);
    t.d.end();
    expect(clock.pending).toBe(0);
  });

  it('a wall clock stepped back does not delay HANDLER_TIMEOUT either', async () => {
    const clock = new ManualClock(1_750_000_000_000, 0);
    const t = delivery(clock, 5000);
    const run = t.d.run();
    await clock.advanceAsync(0);
    clock.stepWall(-3_600_000);
    await clock.advanceAsync(5000);
    expect(t.aborts.map((a) => a.at)).toEqual([5000]);
    await run;
    t.d.end();
  });
});
