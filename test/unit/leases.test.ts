import { jest } from '@jest/globals';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { Handler } from '../../src/core/handler.js';
import type { ClaimResult, IdempotencyStore } from '../../src/core/idempotency-store.js';
import type { WorkerMessage } from '../../src/core/message.js';
import type { Queue } from '../../src/core/queue.js';
import { LeaseExpiredError } from '../../src/worker/lease.js';
import { Faults } from '../helpers/faults.js';
import {
  aborted,
  delay,
  until,
  world,
  worker,
  type TwinMessage,
  type WorkerOptions,
  type World,
} from '../helpers/runtime-twin.js';

/**
 * "Never two handlers of a key at once", when DynamoDB or SQS are slow, handlers time out, renewals
 * fail, clocks disagree or a worker stops: each race of the reliability issue, played out on the
 * in-memory twins with fake timers. Two workers share one queue and one store; each run of a
 * handler is logged with its worker and its start and end, and no two runs of a key may overlap.
 */
interface Run {
  readonly worker: string;
  readonly key: string;
  readonly start: number;
  end?: number;
  abortedBy?: unknown;
}

function runLog() {
  const runs: Run[] = [];
  /** A handler that logs its run and does `work` (which should honour the signal). */
  const handler =
    (name: string, work: (m: WorkerMessage, signal: AbortSignal) => Promise<unknown> | unknown): Handler =>
    async (message, { signal }) => {
      const run: Run = { worker: name, key: message.key, start: Date.now() };
      runs.push(run);
      signal.addEventListener('abort', () => (run.abortedBy = signal.reason), { once: true });
      try {
        return await work(message, signal);
      } finally {
        run.end = Date.now();
      }
    };
  /** Pairs of runs of one key whose [start, end] intervals overlap. */
  const overlaps = () =>
    runs.flatMap((a, i) =>
      runs
        .slice(i + 1)
        .filter((b) => a.key === b.key && b.start < (a.end ?? Infinity) && a.start < (b.end ?? Infinity)),
    );
  return { runs, handler, overlaps };
}

/** A worker's own view of the world's queue and store, with faults of its own. */
function views(w: World) {
  return { queue: new Faults<Queue>(w.queue), store: new Faults<IdempotencyStore>(w.store) };
}

/** A handler that notices its signal, but needs 1.5 s to wind down. */
async function slowToStop(_m: WorkerMessage, signal: AbortSignal): Promise<never> {
  await aborted(signal).catch(() => delay(1500));
  throw signal.reason;
}

/** Both copies are gone from the queue and nothing is in flight. */
function allDone(w: World, ...workers: { runtime: { inFlight: number } }[]): boolean {
  const counts = w.queue.counts();
  return (
    counts.visible + counts.inFlight + counts.delayed === 0 && workers.every((x) => x.runtime.inFlight === 0)
  );
}

type Work = (m: WorkerMessage, signal: AbortSignal) => Promise<unknown> | unknown;

/**
 * Two workers on one world, their runs in `log`: A does `work`; B returns at once. Each gets
 * instanceId 'a' / 'b' and its own options.
 */
function twoWorkers(
  w: World,
  log: ReturnType<typeof runLog>,
  work: Work,
  options: { a?: WorkerOptions; b?: WorkerOptions } = {},
) {
  const workerA = worker(w, log.handler('a', work), { instanceId: 'a', ...options.a });
  const workerB = worker(
    w,
    log.handler('b', () => {}),
    { instanceId: 'b', ...options.b },
  );
  return {
    workerA,
    workerB,
    /**
     * A takes `first` and its handler starts; then `meanwhile` (a fault, say), `second` is sent
     * unless null, and B starts.
     */
    async aRunsThenB({
      first = sameKey[0] as TwinMessage,
      second = sameKey[1] as TwinMessage | null,
      meanwhile = () => {},
    }: { first?: TwinMessage; second?: TwinMessage | null; meanwhile?: () => void } = {}) {
      await w.send([first]);
      await workerA.runtime.start();
      await until(() => log.runs.length === 1, 'A runs');
      meanwhile();
      if (second) await w.send([second]);
      await workerB.runtime.start();
    },
    stop: () => Promise.all([workerA.runtime.stop(0), workerB.runtime.stop(0)]),
  };
}

const sameKey = [
  { key: 'k', body: '{"order":1}' },
  { key: 'k', body: '{"order":1}' },
];

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('leases that hold when the world is slow', () => {
  it('does not run the handler on a grant that arrives after its lease ran out (slow DynamoDB)', async () => {
    const w = world({ visibilityTimeoutSeconds: 5 });
    const log = runLog();
    const a = views(w);
    // Every claim of A lands at once, but its answer takes 7 s: longer than the 5 s lease.
    const slow = a.store.after('claim', () => delay(7000));
    const workerA = worker(
      w,
      log.handler('a', () => {}),
      {
        instanceId: 'a',
        visibilityTimeoutSeconds: 5,
        skewMs: 500,
        maxInFlight: 1,
        queue: a.queue.subject,
        store: a.store.subject,
      },
    );
    const workerB = worker(
      w,
      log.handler('b', () => delay(1000)),
      {
        instanceId: 'b',
        visibilityTimeoutSeconds: 5,
        skewMs: 500,
      },
    );
    await w.send(sameKey);
    await workerA.runtime.start();
    await until(() => w.store.calls.claim === 1, 'A claimed');
    await workerB.runtime.start();
    await until(() => workerA.settled.length === 1, 'A gave up its late grant');
    slow();
    await until(() => allDone(w, workerA, workerB), 'both copies settled');
    expect(workerA.settled[0]?.processed.reason?.code).toBe('LEASE_EXPIRED');
    expect(log.runs.map((r) => r.worker)).toEqual(['b']);
    expect([...workerA.outcomes(), ...workerB.outcomes()].sort()).toEqual(['duplicate', 'retry', 'success']);
    expect(log.overlaps()).toEqual([]);
    await Promise.all([workerA.runtime.stop(0), workerB.runtime.stop(0)]);
  });

  it('keeps the key while a timed-out handler is still stopping, and only then releases it', async () => {
    const w = world();
    const log = runLog();
    const two = twoWorkers(w, log, slowToStop, { a: { handlerTimeoutMs: 5000, maxInFlight: 1 } });
    await two.aRunsThenB({ first: { key: 'k' }, second: null });
    await until(() => log.runs.length === 2 && log.runs.every((r) => r.end !== undefined), 'run again');
    expect(log.overlaps()).toEqual([]);
    expect(two.workerA.settled[0]?.processed.reason?.code).toBe('ABORTED');
    await two.stop();
  });

  it('at shutdown, keeps the key of a handler still stopping until it has returned', async () => {
    const w = world();
    const log = runLog();
    const { workerA, workerB, aRunsThenB } = twoWorkers(w, log, slowToStop, { a: { maxInFlight: 1 } });
    await aRunsThenB({ first: { key: 'k' }, second: null });
    let stopped = false;
    void workerA.runtime.stop(3000).then(() => (stopped = true));
    await until(() => stopped, 'A stopped');
    await until(() => log.runs.length === 2 && log.runs.every((r) => r.end !== undefined), 'B ran');
    expect(log.runs.map((r) => r.worker)).toEqual(['a', 'b']);
    expect(log.overlaps()).toEqual([]);
    await workerB.runtime.stop(0);
  });

  it('aborts the handler at the end of the last confirmed lease when renewals fail', async () => {
    const w = world();
    const log = runLog();
    const a = views(w);
    const two = twoWorkers(w, log, (_m, signal) => aborted(signal), {
      a: { store: a.store.subject, maxInFlight: 1 },
    });
    await two.aRunsThenB({
      meanwhile: () =>
        a.store.before('renew', () => {
          throw new StoreUnavailableError('throttled');
        }),
    });
    await until(() => log.runs.length === 2 && log.runs.every((r) => r.end !== undefined), 'B took over');
    expect(log.runs[0]?.abortedBy).toBeInstanceOf(LeaseExpiredError);
    expect(log.overlaps()).toEqual([]);
    await two.stop();
  });

  it('renews the record with its lease, so a handler longer than the retention keeps its key', async () => {
    const w = world();
    const log = runLog();
    const { workerA, workerB, aRunsThenB, stop } = twoWorkers(w, log, () => delay(300_000), {
      a: { retentionSeconds: 60, maxInFlight: 1 },
      b: { retentionSeconds: 60 },
    });
    await aRunsThenB();
    await until(() => workerA.settled.length + workerB.settled.length === 2, 'both settled', 900_000);
    expect(log.runs.map((r) => r.worker)).toEqual(['a']);
    expect(workerB.outcomes()).toEqual(['duplicate']);
    await stop();
  });

  it('reports no lost lease for a renewal answered after its own complete', async () => {
    const w = world();
    const a = views(w);
    // Renewals land 5 s late: the beat at 10 s lands after the handler completed at 11 s.
    a.store.before('renew', () => delay(5000));
    const lost: WorkerMessage[] = [];
    const workerA = worker(w, () => delay(11_000), { instanceId: 'a', store: a.store.subject });
    workerA.runtime.on('lease_lost', (m) => lost.push(m));
    await w.send([sameKey[0] as { key: string }]);
    await workerA.runtime.start();
    await until(() => workerA.settled.length === 1, 'settled');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(w.store.calls.renew).toBeGreaterThanOrEqual(1);
    expect(workerA.outcomes()).toEqual(['success']);
    expect(lost).toEqual([]);
    await workerA.runtime.stop(0);
  });

  it('after a failed complete, keeps the message and records the result again: the handler runs once', async () => {
    const w = world();
    const a = views(w);
    let failures = 0;
    const heal = a.store.before('complete', () => {
      failures += 1;
      if (failures <= 3) throw new StoreUnavailableError('timed out');
    });
    let runs = 0;
    const workerA = worker(w, () => void (runs += 1), { instanceId: 'a', store: a.store.subject });
    await w.send([{ key: 'k' }]);
    await workerA.runtime.start();
    await until(() => workerA.settled.length === 1, 'recorded');
    expect(workerA.outcomes()).toEqual(['success']);
    expect(runs).toBe(1);
    expect(w.store.calls.complete).toBe(1);
    expect(failures).toBe(4);
    expect(w.queue.peek()).toEqual([]);
    heal();
    await workerA.runtime.stop(0);
  });

  it('a worker stopping while its complete keeps failing leaves the key takeable at once, at receive 2', async () => {
    const w = world();
    const a = views(w);
    a.store.before('complete', () => {
      throw new StoreUnavailableError('timed out');
    });
    const workerA = worker(w, () => {}, { instanceId: 'a', store: a.store.subject });
    await w.send([{ key: 'k' }]);
    await workerA.runtime.start();
    await until(() => w.store.calls.claim === 1, 'A claimed');
    await jest.advanceTimersByTimeAsync(5000);
    let stopped = false;
    void workerA.runtime.stop(1000).then(() => (stopped = true));
    await until(() => stopped, 'A stopped');
    expect(workerA.settled[0]?.processed.reason?.code).toBe('STORE_UNAVAILABLE');
    const b = views(w);
    let claimsByB = 0;
    b.store.before('claim', () => void (claimsByB += 1));
    const workerB = worker(w, () => {}, { instanceId: 'b', store: b.store.subject });
    await workerB.runtime.start();
    await until(() => workerB.settled.length === 1, 'B took over');
    expect(workerB.outcomes()).toEqual(['success']);
    expect(workerB.settled[0]?.message.receiveCount).toBe(2);
    expect(claimsByB).toBe(1);
    await workerB.runtime.stop(0);
  });

  it('a copy of a key another worker runs for longer than maxReceiveCount visibilities waits, and is a duplicate', async () => {
    const w = world({ maxReceiveCount: 3 });
    const log = runLog();
    const { workerB, aRunsThenB, stop } = twoWorkers(w, log, () => delay(200_000), { a: { maxInFlight: 1 } });
    await aRunsThenB();
    await until(() => workerB.settled.length === 1, 'B settled the copy', 900_000);
    expect(workerB.outcomes()).toEqual(['duplicate']);
    expect(workerB.settled[0]?.message.receiveCount).toBe(1);
    expect(w.dlq.peek()).toEqual([]);
    expect(log.runs).toHaveLength(1);
    await stop();
  });

  it('a worker whose clock runs ahead by more than half the visibility timeout cannot take over a live lease', async () => {
    const w = world();
    const log = runLog();
    const { workerB, aRunsThenB, stop } = twoWorkers(w, log, () => delay(120_000), {
      a: { maxInFlight: 1 },
      b: { skewAheadMs: 16_000 },
    });
    await aRunsThenB();
    await until(() => workerB.settled.length === 1, 'B settled the copy', 900_000);
    expect(log.runs.map((r) => r.worker)).toEqual(['a']);
    expect(workerB.outcomes()).toEqual(['duplicate']);
    await stop();
  });

  it("takes a crashed worker's key over at receive 2, after waiting in place for its lease (up to P past the visibility)", async () => {
    const w = world();
    const log = runLog();
    const a = views(w);
    const workerA = worker(
      w,
      log.handler('a', (_m, signal) => aborted(signal)),
      { instanceId: 'a', queue: a.queue.subject, store: a.store.subject },
    );
    await w.send([sameKey[0] as { key: string }]);
    await workerA.runtime.start();
    await until(() => log.runs.length === 1, 'A runs');
    await jest.advanceTimersByTimeAsync(25_000);
    // A is cut off from SQS and DynamoDB, as a frozen or partitioned process would be.
    a.queue.cut('receive', 'changeVisibility', 'delete', 'changeVisibilityBatch', 'deleteBatch', 'send');
    a.store.cut('claim', 'renew', 'complete', 'fail');
    const b = views(w);
    const claimsByB: { at: number; kind: string }[] = [];
    b.store.after(
      'claim',
      (result) => void claimsByB.push({ at: Date.now(), kind: (result as ClaimResult).kind }),
    );
    const workerB = worker(
      w,
      log.handler('b', () => {}),
      { instanceId: 'b', store: b.store.subject },
    );
    await workerB.runtime.start();
    await until(() => workerB.settled.length === 1, 'B took over');
    expect(workerB.outcomes()).toEqual(['success']);
    expect(workerB.settled[0]?.message.receiveCount).toBe(2);
    // A's last visibility change and renewal both went at 20 s: the message is visible again at
    // 50 s, but the lease runs to 20 + V + P - M = 59 s. B's first claim finds it held and waits in
    // place (no receive count spent), P at most, and takes it once it can be taken over (59 + M s).
    const T0 = 1_750_000_000_000;
    expect(claimsByB.map((c) => [c.at - T0, c.kind])).toEqual([
      [50_000, 'in_progress'],
      [60_000, 'acquired'],
    ]);
    expect(log.overlaps()).toEqual([]);
    await workerB.runtime.stop(0);
  });
});
