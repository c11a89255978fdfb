import { Gauge, Registry } from 'prom-client';
import { systemClock, type Clock } from '../../src/core/clock.js';
import type { MessageEvent } from '../../src/core/events.js';
import type { WorkerMessage } from '../../src/core/message.js';
import type { Outcome, Processed } from '../../src/core/pipeline.js';
import type { SeedAccess } from '../../src/http/access.js';
import type { HealthReport, ServerDeps } from '../../src/http/server.js';
import { RecentActivity } from '../../src/observability/recent.js';
import type { DepthReads } from '../../src/observability/sqs-metrics.js';
import { OPEN, sidecarDeps } from './sidecar.js';

/** The status page's sources with a clock the test moves: no wall-clock wait anywhere. */

export const T0 = Date.UTC(2026, 11, 7, 3, 0, 0);

/** A Clock whose wall time is `ms` (moved by hand) and whose timers are the system's. */
export interface TestClock extends Clock {
  ms: number;
}

export function testClock(start = T0): TestClock {
  const clock: TestClock = {
    ...systemClock,
    ms: start,
    now: () => clock.ms,
    monotonic: () => clock.ms - start,
  };
  return clock;
}

export interface Delivery {
  readonly key: string;
  readonly outcome: Outcome;
  readonly reason?: string;
  readonly reasonMessage?: string;
  readonly error?: unknown;
  readonly handlerMs?: number;
  readonly rawBody?: string;
  readonly receiveCount?: number;
}

/** A settled event as the runtime emits it, with a body the page must never show. */
export function settled(d: Delivery): MessageEvent {
  const rawBody = d.rawBody ?? '{"card":"4111111111111111","name":"Ada Lovelace"}';
  const message = {
    key: d.key,
    messageId: `id-${d.key}`,
    receiveCount: d.receiveCount ?? 1,
    rawBody,
    body: JSON.parse(rawBody) as unknown,
    attributes: {},
    groupId: undefined,
    sentAt: undefined,
  };
  const processed = {
    outcome: d.outcome,
    action: d.outcome === 'retry' ? 'release' : 'delete',
    ...(d.reason ? { reason: { code: d.reason, message: d.reasonMessage ?? `${d.reason} happened` } } : {}),
    ...(d.error === undefined ? {} : { error: d.error }),
    ...(d.handlerMs === undefined ? {} : { handlerMs: d.handlerMs }),
  };
  return {
    message: message as unknown as WorkerMessage,
    processed: processed as unknown as Processed,
    durationMs: d.handlerMs ?? 5,
    logger: undefined as never,
  };
}

export interface StatusSetup {
  readonly deps: ServerDeps;
  readonly clock: TestClock;
  readonly activity: RecentActivity;
  readonly gauge: Gauge<'queue' | 'state'>;
  ready: HealthReport;
}

export interface StatusSetupOptions {
  /** Who may see keys; left out: the seed access (OPEN). */
  readonly keys?: SeedAccess | undefined;
  readonly depthReads?: () => DepthReads | undefined;
  readonly queueMetricsIntervalMs?: number;
  readonly embedded?: boolean;
  readonly clock?: TestClock;
  /** The queue depth gauge, when a real poller sets it. */
  readonly gauge?: Gauge<'queue' | 'state'>;
}

export function statusSetup(options: StatusSetupOptions = {}): StatusSetup {
  const clock = options.clock ?? testClock();
  const registry = new Registry();
  const gauge =
    options.gauge ??
    new Gauge<'queue' | 'state'>({
      name: 'sqs_worker_queue_messages',
      help: 'h',
      labelNames: ['queue', 'state'],
      registers: [registry],
    });
  const activity = new RecentActivity({ clock, redact: ['customerRef'] });
  const setup: StatusSetup = {
    clock,
    activity,
    gauge,
    ready: { ok: true, checks: { lifecycle: { ok: true }, poll: { ok: true } } },
    deps: undefined as unknown as ServerDeps,
  };
  const base = sidecarDeps({ registry }, OPEN);
  (setup as { deps: ServerDeps }).deps = {
    ...base,
    readiness: () => setup.ready,
    status: {
      activity,
      queueGauge: gauge,
      queueMetricsIntervalMs: options.queueMetricsIntervalMs ?? 30_000,
      maxInFlight: 10,
      embedded: options.embedded ?? true,
      now: () => clock.now(),
      ...('keys' in options ? { keys: { access: options.keys } } : {}),
      ...(options.depthReads ? { depthReads: options.depthReads } : {}),
    },
  };
  return setup;
}
