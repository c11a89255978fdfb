import { systemClock } from '../../src/core/clock.js';
import { jest } from '@jest/globals';
import { HandlerTimeoutError } from '../../src/core/errors.js';
import { hashBody, IdempotencyService } from '../../src/core/idempotency.js';
import { aborted, delay, until, world, worker } from '../helpers/runtime-twin.js';

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

const BODY = '{"order":1}';

/** Another worker holds the key `k` for `ms` more, then vanishes (its lease lapses). */
async function heldElsewhere(store: ReturnType<typeof world>['store'], ms: number): Promise<void> {
  const other = new IdempotencyService({
    store,
    clock: systemClock,
    namespace: 'work',
    instanceId: 'other',
    leaseMs: ms,
    retentionSeconds: 3600,
  });
  const body = hashBody(BODY);
  const claimed = await other.claim('k', 'hash' in body ? body.hash : '');
  expect(claimed.kind).toBe('acquired');
}

/** A handler that works `ms` unless its signal fires; remembers when it started and why it stopped. */
function timed(ms: number) {
  const log = { startedAt: [] as number[], aborts: [] as unknown[] };
  const handler = async (_m: unknown, { signal }: { signal: AbortSignal }) => {
    log.startedAt.push(performance.now());
    await Promise.race([delay(ms), aborted(signal)]).catch((error: unknown) => {
      log.aborts.push(error);
      throw error;
    });
  };
  return { log, handler };
}

describe('HANDLER_TIMEOUT counts from when the handler starts', () => {
  it('a delivery that waits 50 s for another worker gets the whole 60 s for its handler', async () => {
    const w = world();
    await heldElsewhere(w.store, 50_000);
    const h = timed(59_000);
    const one = worker(w, h.handler, { handlerTimeoutMs: 60_000 });
    await w.send([{ key: 'k', body: BODY }]);
    await one.runtime.start();
    await until(() => one.settled.length === 1, 'settled', 200_000);
    expect(h.log.startedAt[0]).toBeGreaterThanOrEqual(50_000);
    expect(h.log.aborts).toEqual([]);
    expect(one.outcomes()).toEqual(['success']);
    await one.runtime.stop(0);
  });

  it('and no more: a handler still running 60 s after it started is aborted then', async () => {
    const w = world();
    await heldElsewhere(w.store, 50_000);
    const h = timed(120_000);
    const one = worker(w, h.handler, { handlerTimeoutMs: 60_000 });
    await w.send([{ key: 'k', body: BODY }]);
    await one.runtime.start();
    await until(() => one.settled.length === 1, 'settled', 200_000);
    expect(h.log.aborts).toHaveLength(1);
    expect(h.log.aborts[0]).toBeInstanceOf(HandlerTimeoutError);
    expect(one.settled[0]?.processed.handlerMs).toBe(60_000);
    await one.runtime.stop(0);
  });
});
