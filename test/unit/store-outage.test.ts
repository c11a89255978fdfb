import { systemClock } from '../../src/core/clock.js';
import { jest } from '@jest/globals';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { IdempotencyStore } from '../../src/core/idempotency-store.js';
import { silentLogger } from '../../src/core/logger.js';
import { HealthMonitor, watchRuntime, watchStoreCircuit } from '../../src/observability/health.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { observeStoreCircuit } from '../../src/observability/observe.js';
import { StoreCircuit } from '../../src/worker/store-gate.js';
import { Faults } from '../helpers/faults.js';
import { until, worker, world } from '../helpers/runtime-twin.js';

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

const MAX_RECEIVE_COUNT = 5;
const HOT_PATH = ['claim', 'renew', 'complete', 'fail', 'generation'] as const;

/**
 * One worker on the twins whose store can be taken down (every call throws StoreUnavailableError,
 * as the DynamoDB store does after the SDK's retries), with the store's circuit breaker wired as
 * createRuntime wires it: it watches the store, probes its generation and gates the receives.
 */
async function setup() {
  const w = world({ maxReceiveCount: MAX_RECEIVE_COUNT });
  const faults = new Faults<IdempotencyStore>(w.store);
  let down = false;
  for (const method of HOT_PATH) {
    faults.before(method, () => {
      if (down) throw new StoreUnavailableError(`idempotency store ${method} failed: ECONNREFUSED`);
    });
  }
  const clock = systemClock;
  const probes: number[] = [];
  const circuit = new StoreCircuit({
    clock,
    probe: () => (probes.push(Date.now()), faults.subject.generation('work')),
  });
  const handled: string[] = [];
  const one = worker(w, (m) => void handled.push(m.key), { store: faults.subject, circuit });
  const metrics = createMetrics('test');
  observeStoreCircuit(circuit, metrics, silentLogger);
  const health = new HealthMonitor({
    clock,
    waitTimeSeconds: 20,
    handlerTimeoutMs: 0,
    maxInFlight: 50,
    maxPollFailures: 3,
  });
  watchRuntime(one.runtime, health);
  watchStoreCircuit(circuit, health);
  health.setTable({ ok: true });
  health.setPhase('running');
  const gauge = async (name: string) =>
    (await metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value;
  return {
    w,
    circuit,
    probes,
    handled,
    health,
    gauge,
    runtime: one.runtime,
    setDown: (value: boolean) => (down = value),
  };
}

/** Each message's ApproximateReceiveCount, by key. */
function receiveCounts(t: Awaited<ReturnType<typeof setup>>): number[] {
  return t.w.queue.peek().map((m) => m.receiveCount);
}

describe('a store outage much longer than the visibility timeout (twins, fake timers)', () => {
  it('stops receiving once the breaker opens, so no receive count grows and nothing is dead-lettered', async () => {
    const t = await setup();
    await t.w.send([1, 2, 3, 4, 5].map((n) => ({ key: `good-${n}` })));
    t.setDown(true);
    await t.runtime.start();
    await until(() => t.circuit.open, 'the breaker opens');
    const receivesAtOpening = t.w.queue.calls.receive;
    // The long poll already under way when it opened may still take messages released meanwhile.
    await jest.advanceTimersByTimeAsync(30_000);
    const countsAfterOpening = receiveCounts(t);

    await jest.advanceTimersByTimeAsync(15 * 60_000); // 30 visibility timeouts
    expect(t.w.queue.calls.receive).toBe(receivesAtOpening);
    expect(receiveCounts(t)).toEqual(countsAfterOpening);
    expect(Math.max(...receiveCounts(t))).toBeLessThan(MAX_RECEIVE_COUNT);
    expect(t.w.dlq.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(t.handled).toEqual([]);

    // Probes: 1 s after opening, doubling to 30 s: 1, 3, 7, 15, 31, 61, 91, ... s.
    const openedAt = t.probes[0]! - 1000;
    const gaps = t.probes.map((at, i) => (at - (i === 0 ? openedAt : t.probes[i - 1]!)) / 1000);
    expect(gaps.slice(0, 7)).toEqual([1, 2, 4, 8, 16, 30, 30]);
    expect(new Set(gaps.slice(5))).toEqual(new Set([30]));

    t.setDown(false);
    await until(() => !t.circuit.open, 'a probe closes the breaker', 31_000);
    await until(() => t.handled.length === 5, 'every message handled after recovery');
    expect(t.w.queue.calls.receive).toBeGreaterThan(receivesAtOpening);
    expect([...t.handled].sort()).toEqual(['good-1', 'good-2', 'good-3', 'good-4', 'good-5']);
    await until(() => t.w.queue.counts().visible + t.w.queue.counts().inFlight === 0, 'all deleted');
    expect(t.w.dlq.counts().visible).toBe(0);
    await t.runtime.stop(1000);
    t.circuit.stop();
  });

  it('says so on /readyz and in the metrics, and liveness holds while paused', async () => {
    const t = await setup();
    expect(await t.gauge('sqs_worker_store_circuit_open')).toBe(0);
    await t.w.send([{ key: 'k' }]);
    t.setDown(true);
    await t.runtime.start();
    await until(() => t.circuit.open, 'the breaker opens');
    expect(await t.gauge('sqs_worker_store_circuit_open')).toBe(1);
    expect(await t.gauge('sqs_worker_store_circuit_openings_total')).toBe(1);
    await jest.advanceTimersByTimeAsync(10 * 60_000);
    const ready = t.health.readiness();
    expect(ready.ok).toBe(false);
    expect(ready.checks.store).toEqual({
      ok: false,
      detail: expect.stringMatching(
        /^receiving paused for 6\d\d s: the idempotency store fails, probing until it answers \(last: StoreUnavailableError: .*ECONNREFUSED\)$/,
      ),
    });
    // Ten minutes without a finished receive is past the stall bound, but a restart would not help.
    expect(t.health.liveness()).toEqual({
      ok: true,
      checks: { consumer: { ok: true, detail: 'receiving paused: the idempotency store fails' } },
    });

    t.setDown(false);
    await until(() => !t.circuit.open, 'a probe closes the breaker', 31_000);
    expect(await t.gauge('sqs_worker_store_circuit_open')).toBe(0);
    expect(t.health.readiness().checks.store).toEqual({ ok: true });
    // The stall bound counts from the resumption, not from the last receive before the pause.
    expect(t.health.liveness().checks.consumer).toEqual({ ok: true });
    await until(() => t.handled.length === 1, 'handled after recovery');
    await t.runtime.stop(1000);
    t.circuit.stop();
  });

  it('stops at once while receiving is paused: stop() ends the wait at the gate', async () => {
    const t = await setup();
    await t.w.send([{ key: 'k' }]);
    t.setDown(true);
    await t.runtime.start();
    await until(() => t.circuit.open, 'the breaker opens');
    await jest.advanceTimersByTimeAsync(60_000);
    let stopped = false;
    const stopping = t.runtime.stop(1000).then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(true);
    await stopping;
    expect(t.circuit.open).toBe(true);
    t.circuit.stop();
  });
});
