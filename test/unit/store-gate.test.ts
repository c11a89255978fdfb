import { StoreUnavailableError } from '../../src/core/errors.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { PROBE_TIMEOUT_MS, StoreCircuit } from '../../src/worker/store-gate.js';
import { ManualClock } from '../helpers/manual-clock.js';

const down = () => new StoreUnavailableError('idempotency store claim failed: ECONNREFUSED');

/** Wall time starts at 1_750_000_000_000, monotonic at 0; only advance() and stepWall() move them. */
let clock: ManualClock;

beforeEach(() => {
  clock = new ManualClock(1_750_000_000_000, 0);
});

/** A circuit whose probe answers as `probeAnswers` says, recording when each probe ran. */
function circuit(probeAnswers: () => Promise<unknown> = () => Promise.reject(down())) {
  const probes: number[] = [];
  const events: string[] = [];
  const c = new StoreCircuit({
    clock,
    probe: () => {
      probes.push(clock.now());
      return probeAnswers();
    },
  });
  c.on('store_circuit_opened', (failures) => events.push(`opened ${failures}`));
  c.on('store_circuit_closed', (pausedMs, by) => events.push(`closed ${by} ${pausedMs}`));
  c.on('store_probe_failed', () => events.push('probe failed'));
  return { c, probes, events, fail: () => c.report(c.epoch, down()), succeed: () => c.report(c.epoch) };
}

describe('StoreCircuit: when it opens', () => {
  it('opens on the third StoreUnavailableError in a row, not before', () => {
    const { c, fail, events } = circuit();
    fail();
    fail();
    expect(c.open).toBe(false);
    expect(c.paused).toBe(false);
    fail();
    expect(c.open).toBe(true);
    expect(c.paused).toBe(true);
    expect(c.openedAt).toBe(clock.now());
    expect(c.lastError).toBeInstanceOf(StoreUnavailableError);
    expect(events).toEqual(['opened 3']);
    c.stop();
  });

  it('a success in between resets the count; other errors neither count nor reset', () => {
    const { c, fail, succeed } = circuit();
    fail();
    fail();
    succeed();
    fail();
    fail();
    c.report(c.epoch, new Error('corrupt record'));
    expect(c.open).toBe(false);
    fail();
    expect(c.open).toBe(true);
    c.stop();
  });

  it('ignores the outcome of a call that began before the last change of state', () => {
    const { c, fail } = circuit(() => Promise.resolve(0));
    const before = c.epoch;
    fail();
    fail();
    fail();
    // A success that began while closed, answered late: says nothing about the store since.
    c.report(before);
    expect(c.open).toBe(true);
    c.stop();
  });
});

describe('StoreCircuit: probes while open', () => {
  it('probes 1 s after opening, then doubling up to 30 s, one at a time', async () => {
    const { c, fail, probes, events } = circuit();
    const openedAt = clock.now();
    for (let i = 0; i < 3; i += 1) fail();
    await clock.advanceAsync(120_000);
    expect(probes.map((t) => (t - openedAt) / 1000)).toEqual([1, 3, 7, 15, 31, 61, 91]);
    expect(events.filter((e) => e === 'probe failed')).toHaveLength(7);
    expect(c.open).toBe(true);
    c.stop();
    await clock.advanceAsync(120_000);
    expect(probes).toHaveLength(7);
  });

  it('a probe that does not answer within PROBE_TIMEOUT_MS counts as failed', async () => {
    const { c, fail, probes } = circuit(() => new Promise(() => {}));
    const openedAt = clock.now();
    for (let i = 0; i < 3; i += 1) fail();
    await clock.advanceAsync(1000 + PROBE_TIMEOUT_MS + 2000);
    expect(probes.map((t) => t - openedAt)).toEqual([1000, 1000 + PROBE_TIMEOUT_MS + 2000]);
    expect(c.lastError).toMatchObject({ message: expect.stringMatching(/did not answer/) });
    c.stop();
  });

  it('a probe that answers closes it, lets the waiters go, and reports how long it was open', async () => {
    let healthy = false;
    const { c, fail, events } = circuit(() => (healthy ? Promise.resolve(0) : Promise.reject(down())));
    for (let i = 0; i < 3; i += 1) fail();
    let waited = false;
    const waiting = c.whenReceiving(new AbortController().signal).then(() => (waited = true));
    await clock.advanceAsync(3000);
    expect(waited).toBe(false);
    healthy = true;
    await clock.advanceAsync(4000);
    await waiting;
    expect(c.open).toBe(false);
    expect(c.openedAt).toBeUndefined();
    expect(events).toEqual(['opened 3', 'probe failed', 'probe failed', 'closed probe 7000']);
  });

  it('a store call made while open that succeeds closes it too', async () => {
    const { c, fail, succeed, events } = circuit();
    for (let i = 0; i < 3; i += 1) fail();
    await clock.advanceAsync(500);
    succeed();
    expect(c.open).toBe(false);
    expect(events).toEqual(['opened 3', 'closed call 500']);
  });

  it('after a probe closed it, one failure reopens it and the backoff goes on', async () => {
    let healthy = false;
    const { c, fail, succeed, probes } = circuit(() =>
      healthy ? Promise.resolve(0) : Promise.reject(down()),
    );
    for (let i = 0; i < 3; i += 1) fail();
    await clock.advanceAsync(3000); // probes at 1 s and 3 s fail
    healthy = true;
    await clock.advanceAsync(4000); // the probe at 7 s closes it
    expect(c.open).toBe(false);
    healthy = false;
    const reopenedAt = clock.now();
    fail();
    expect(c.open).toBe(true);
    await clock.advanceAsync(8000);
    expect(probes.at(-1)! - reopenedAt).toBe(8000);
    healthy = true;
    await clock.advanceAsync(16_000);
    expect(c.open).toBe(false);
    // A real success ends the trial: it takes three failures again, and probes start at 1 s.
    succeed();
    fail();
    fail();
    expect(c.open).toBe(false);
    fail();
    const openedAt = clock.now();
    healthy = false;
    await clock.advanceAsync(1000);
    expect(probes.at(-1)! - openedAt).toBe(1000);
    c.stop();
  });

  it('whenReceiving resolves at once while closed, and when its signal aborts while open', async () => {
    const { c, fail } = circuit();
    await c.whenReceiving(new AbortController().signal);
    for (let i = 0; i < 3; i += 1) fail();
    const stop = new AbortController();
    const waiting = c.whenReceiving(stop.signal);
    stop.abort();
    await waiting;
    expect(c.open).toBe(true);
    c.stop();
  });
});

describe('StoreCircuit.watch', () => {
  it('reports claim, renew, complete and fail, and leaves generation alone', async () => {
    const inner = new MemoryIdempotencyStore();
    const { c } = circuit();
    const store = c.watch(inner);
    const failing = {
      claim: () => Promise.reject(down()),
      renew: () => Promise.reject(down()),
      complete: () => Promise.reject(down()),
      fail: () => Promise.reject(down()),
      markDeadLettered: () => Promise.reject(down()),
      generation: () => Promise.reject(down()),
    };
    const watched = c.watch(failing);
    const claim = { pk: 'p', owner: 'o', fence: 1, attempt: 1 } as never;
    await expect(watched.generation('n')).rejects.toThrow(StoreUnavailableError);
    await expect(watched.renew(claim, 1, 1)).rejects.toThrow(StoreUnavailableError);
    await expect(watched.complete(claim, 1)).rejects.toThrow(StoreUnavailableError);
    expect(c.open).toBe(false);
    await expect(watched.fail(claim, 1, 'x')).rejects.toThrow(StoreUnavailableError);
    expect(c.open).toBe(true);
    // A call that succeeds while open closes it.
    await expect(store.generation('n')).resolves.toBe(0);
    expect(c.open).toBe(true);
    await expect(store.renew(claim, 1, 1)).resolves.toBe(false);
    expect(c.open).toBe(false);
    c.stop();
  });
});

describe('StoreCircuit.watch passes every argument through', () => {
  it('a fail with a dead-letter reason leaves the record DEAD_LETTERED, and the copy is noted', async () => {
    const { c } = circuit();
    const inner = new MemoryIdempotencyStore();
    const watched = c.watch(inner);
    const now = clock.now();
    const claimed = await watched.claim({
      pk: 'q#k',
      payloadHash: 'v2:h',
      owner: 'w:1',
      now,
      leaseExpiresAtMs: now + 30_000,
      expiresAt: now / 1000 + 3600,
    });
    if (claimed.kind !== 'acquired') throw new Error(claimed.kind);
    expect(await watched.fail(claimed.claim, now, 'PermanentError: bad', 'PERMANENT_ERROR')).toBe(true);
    expect(await watched.markDeadLettered('q#k', 'copy-1', now)).toBe(true);
    expect(await inner.get('q#k', now)).toMatchObject({
      status: 'DEAD_LETTERED',
      deadLetterReason: 'PERMANENT_ERROR',
      deadLetterId: 'copy-1',
    });
  });
});
