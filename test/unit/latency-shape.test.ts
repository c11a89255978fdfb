import { jest } from '@jest/globals';
import type { Claim, ClaimRequest } from '../../src/core/idempotency-store.js';
import type { StoreBatch } from '../../src/core/store-batch.js';
import { BatchingStore } from '../../src/worker/batching-store.js';
import { world, worker, type Worker } from '../helpers/runtime-twin.js';
import { MemoryStoreBatch } from '../helpers/memory-store-batch.js';

/**
 * The bench's latency workloads on the twins, in virtual time: +15 ms on every SQS request, +5 ms
 * on every DynamoDB batch, a no-op handler, batched claims, completes, deletes and visibility
 * changes (SQS_BATCH_FLUSH_DELAY 0.1 s). What bounds throughput here is how long each message
 * holds its room (from the receive that asked for it to when the room is free again): throughput
 * = MAX_IN_FLIGHT / that time. Deterministic: jest's fake timers, no emulator, no CPU cost.
 *
 * TIMELINE=1 prints each phase's median per message (the figures in docs/performance.md).
 */

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

const SQS_MS = 15;
const DDB_MS = 5;
const FLUSH_MS = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Per key, virtual ms at each step. */
type Steps = Partial<Record<'received' | 'claimSent' | 'claimed' | 'completeAsked', number>> &
  Partial<Record<'completeSent' | 'completed' | 'settled', number>>;

interface Shape {
  readonly w: Worker;
  readonly steps: Map<string, Steps>;
  /** Virtual ms of every receive asked, and the room each receive asked for. */
  readonly receives: { at: number; asked: number }[];
}

function shape(maxInFlight: number, receiveConcurrency: number): Shape {
  const start = Date.now();
  const now = () => Date.now() - start;
  const steps = new Map<string, Steps>();
  const step = (pk: string, name: keyof Steps) => {
    const key = pk.replace(/^work#/, '');
    steps.set(key, { ...steps.get(key), [name]: now() });
  };
  const receives: { at: number; asked: number }[] = [];
  const ww = world();
  ww.queue.intercept('receive', (request) => {
    receives.push({ at: now(), asked: request.maxMessages });
    return sleep(SQS_MS);
  });
  ww.queue.intercept('deleteBatch', () => sleep(SQS_MS));
  ww.queue.intercept('changeVisibilityBatch', () => sleep(SQS_MS));
  const memory = new MemoryStoreBatch(ww.store);
  const delayed: StoreBatch = {
    async execute(statements, signal) {
      for (const s of statements)
        step(
          s.kind === 'insert' ? s.request.pk : s.claim.pk,
          s.kind === 'insert' ? 'claimSent' : 'completeSent',
        );
      await sleep(DDB_MS);
      const outcomes = await memory.execute(statements, signal);
      for (const s of statements)
        step(s.kind === 'insert' ? s.request.pk : s.claim.pk, s.kind === 'insert' ? 'claimed' : 'completed');
      return outcomes;
    },
  };
  const ref: { one?: Worker } = {};
  const batching = new BatchingStore(ww.store, delayed, {
    windowMs: FLUSH_MS,
    timeoutMs: 3000,
    held: () => ref.one?.runtime.unrecorded ?? Number.POSITIVE_INFINITY,
  });
  const store = new Proxy(batching, {
    get(target, property) {
      if (property === 'complete') {
        return (claim: Claim, ...rest: [number, string?, number?]) => {
          step(claim.pk, 'completeAsked');
          return target.complete(claim, ...rest);
        };
      }
      if (property === 'claim') return (request: ClaimRequest) => target.claim(request);
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const one = worker(ww, () => {}, {
    store,
    maxInFlight,
    receiveConcurrency,
    batchFlushMs: FLUSH_MS,
  });
  ref.one = one;
  one.runtime.on('message_received', (m) => step(m.key, 'received'));
  one.runtime.on('message_settled', (e) => step(e.message.key, 'settled'));
  void ww.send(Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}` })));
  return { w: one, steps, receives };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Each phase's median over the messages settled, in virtual ms. */
function timeline(s: Shape): Record<string, number> {
  const done = [...s.steps.values()].filter((x) => x.settled !== undefined);
  const phase = (from: keyof Steps, to: keyof Steps) =>
    median(done.map((x) => (x[to] ?? Number.NaN) - (x[from] ?? Number.NaN)));
  return {
    'received -> claim sent': phase('received', 'claimSent'),
    'claim round trip': phase('claimSent', 'claimed'),
    'claimed -> complete asked (handler)': phase('claimed', 'completeAsked'),
    'complete window': phase('completeAsked', 'completeSent'),
    'complete round trip': phase('completeSent', 'completed'),
    'completed -> settled (delete window + round trip)': phase('completed', 'settled'),
  };
}

async function measure(maxInFlight: number, receiveConcurrency: number, label: string) {
  const s = shape(maxInFlight, receiveConcurrency);
  await s.w.runtime.start();
  // One virtual second, after a warm-up second.
  await jest.advanceTimersByTimeAsync(1000);
  const before = s.w.settled.length;
  await jest.advanceTimersByTimeAsync(1000);
  const perSecond = s.w.settled.length - before;
  if (process.env.TIMELINE === '1') {
    process.stderr.write(`${label}: ${perSecond} msg/s (virtual)\n${JSON.stringify(timeline(s), null, 1)}\n`);
  }
  const stopped = s.w.runtime.stop(1000);
  await jest.advanceTimersByTimeAsync(10_000);
  await stopped;
  const runs = new Set(s.w.settled.map((e) => e.message.key));
  expect(runs.size).toBe(s.w.settled.length);
  return perSecond;
}

describe('the latency workloads on the twins (+15 ms SQS, +5 ms DynamoDB, virtual time)', () => {
  it('latency-10: a message holds its room for its receive and claim only', async () => {
    // One receive (15 ms) + one claim batch (5 ms) per ten messages: some 476 msg/s. Holding the
    // room through the complete's batch (5 ms) too gave 370, and through the delete (15 ms) 250.
    expect(await measure(10, 1, 'latency-10')).toBeGreaterThanOrEqual(450);
  });

  it('latency-50: the settling messages (twice MAX_IN_FLIGHT) do not cap throughput', async () => {
    // 50 / 21 ms is some 2,380 msg/s. Holding the room through the complete gave 1,850; a bound of
    // MAX_IN_FLIGHT settling messages (complete and delete take ~22 ms of each message) 2,110.
    expect(await measure(50, 5, 'latency-50')).toBeGreaterThanOrEqual(2250);
  });
});
