import { HealthMonitor, STALL_GRACE_MS, type ConsumerState } from '../../src/observability/health.js';
import { ManualClock } from '../helpers/fakes.js';

function setup(options: { handlerTimeoutMs?: number; maxInFlight?: number } = {}) {
  const clock = new ManualClock();
  const consumer = { running: false, inFlight: 0, lastPollAt: undefined as number | undefined };
  const health = new HealthMonitor({
    clock,
    waitTimeSeconds: 20,
    handlerTimeoutMs: options.handlerTimeoutMs ?? 300_000,
    visibilityTimeoutSeconds: 30,
    maxInFlight: options.maxInFlight ?? 10,
    maxPollFailures: 3,
  });
  health.setConsumer(consumer satisfies ConsumerState);
  /** What the app and the runtime do on a good start. */
  const start = () => {
    health.setTable({ ok: true });
    consumer.running = true;
    consumer.lastPollAt = clock.now();
    health.pollSucceeded();
    health.setPhase('running');
  };
  return { clock, consumer, health, start };
}

describe('readiness', () => {
  it('fails before the first successful receive, naming each failing check', () => {
    const { health } = setup();
    const report = health.readiness();
    expect(report.ok).toBe(false);
    expect(report.checks).toEqual({
      lifecycle: { ok: false, detail: 'starting' },
      table: { ok: false, detail: 'not checked yet' },
      poll: { ok: false, detail: 'no successful receive from the queue yet' },
    });
  });

  it('passes once started, the table is there and a receive succeeded', () => {
    const { health, start } = setup();
    start();
    expect(health.readiness()).toEqual({
      ok: true,
      checks: { lifecycle: { ok: true }, table: { ok: true }, poll: { ok: true } },
    });
  });

  it('fails while draining', () => {
    const { health, start } = setup();
    start();
    health.setPhase('draining');
    expect(health.readiness().checks.lifecycle).toEqual({ ok: false, detail: 'draining' });
  });

  it('fails when the table is missing', () => {
    const { health, start } = setup();
    start();
    health.setTable({ ok: false, reason: 'missing', detail: 'table t does not exist' });
    expect(health.readiness()).toMatchObject({
      ok: false,
      checks: { table: { ok: false, detail: 'table t does not exist' } },
    });
  });

  it('fails after READY_MAX_POLL_FAILURES receive failures in a row, and recovers on a success', () => {
    const { health, start } = setup();
    start();
    const denied = Object.assign(new Error('The security token included in the request is invalid'), {
      code: 'UnrecognizedClientException',
    });
    health.pollFailed(denied);
    health.pollFailed(denied);
    expect(health.readiness().ok).toBe(true);
    health.pollFailed(denied);
    expect(health.readiness().checks.poll).toEqual({
      ok: false,
      detail: '3 receive failures in a row (auth)',
    });
    health.pollSucceeded();
    expect(health.readiness().ok).toBe(true);
  });
});

describe('liveness', () => {
  it('derives the stall bound from the wait time, the handler timeout and the visibility timeout', () => {
    // One long poll; a wait for another worker's claim (its handler run and a lease), then our
    // own handler run, whose timeout starts only then; the grace.
    expect(setup({ handlerTimeoutMs: 300_000 }).health.stallBoundMs()).toBe(
      20_000 + 2 * 300_000 + 40_000 + STALL_GRACE_MS,
    );
    expect(setup({ handlerTimeoutMs: 0 }).health.stallBoundMs()).toBe(20_000 + STALL_GRACE_MS);
  });

  it('passes while the consumer is not running (starting, table missing, stopped)', () => {
    const { health, clock } = setup();
    clock.advance(24 * 3600_000);
    expect(health.liveness()).toEqual({ ok: true, checks: { consumer: { ok: true } } });
  });

  it('fails when a running consumer finishes no receive for longer than the bound', () => {
    const { health, clock, start } = setup();
    start();
    clock.advance(health.stallBoundMs());
    expect(health.liveness().ok).toBe(true);
    clock.advance(1000);
    const report = health.liveness();
    expect(report.ok).toBe(false);
    expect(report.checks.consumer?.detail).toBe('stalled: no receive finished for 721 s (bound 720 s)');
  });

  it('measures silence on the monotonic clock: a wall-clock step forward is no stall', () => {
    const { health, clock, start } = setup();
    start();
    clock.stepWall(24 * 3600_000);
    expect(health.liveness().ok).toBe(true);
  });

  it('counts a failed receive as a finished cycle: an SQS outage is not a reason to restart', () => {
    const { health, clock, start } = setup();
    start();
    for (let i = 0; i < 100; i += 1) {
      clock.advance(health.stallBoundMs() / 2);
      health.pollFailed(new Error('connect ECONNREFUSED'));
    }
    expect(health.liveness().ok).toBe(true);
    expect(health.readiness().ok).toBe(false);
  });

  it('without a handler timeout, a consumer full of running handlers is saturated, not stalled', () => {
    const { health, clock, consumer, start } = setup({ handlerTimeoutMs: 0, maxInFlight: 2 });
    start();
    consumer.inFlight = 2;
    clock.advance(health.stallBoundMs() + 1000);
    expect(health.liveness().checks.consumer).toEqual({
      ok: true,
      detail: 'saturated: 2 messages in flight, no handler timeout',
    });
    consumer.inFlight = 1;
    expect(health.liveness().ok).toBe(false);
  });
});
