import type { Gauge } from 'prom-client';
import type { Outcome } from '../core/pipeline.js';
import type { HealthReport } from '../observability/health.js';
import { OUTCOMES } from '../observability/metrics.js';
import type { ActivitySource, PerSecond, SettledEntry } from '../observability/recent.js';

/** What the status page shows; also the body of GET /status.json. */
export interface StatusSnapshot {
  /** Epoch ms. */
  readonly at: number;
  readonly embedded: boolean;
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly queues: {
    readonly main: QueueDepth | null;
    readonly dlq: QueueDepth | null;
    /** How often the depths are read (QUEUE_METRICS_INTERVAL); 0: never. */
    readonly intervalSeconds: number;
  };
  readonly outcomes: readonly Outcome[];
  readonly perSecond: PerSecond;
  readonly totals: Readonly<Record<Outcome, number>>;
  readonly readiness: HealthReport;
  /** null when the client may not see keys (see `recentHidden`). */
  readonly recent: readonly SettledEntry[] | null;
  readonly recentHidden?: string;
}

/** From sqs_worker_queue_messages{queue,state}; null until the first read. */
export interface QueueDepth {
  readonly visible: number | null;
  readonly in_flight: number | null;
  readonly delayed: number | null;
}

export const QUEUE_STATES = ['visible', 'in_flight', 'delayed'] as const;

export interface StatusSources {
  readonly activity: ActivitySource;
  /** The gauge the queue depth poller sets: read here, no AWS call per view. */
  readonly queueGauge: Gauge<'queue' | 'state'>;
  readonly queueMetricsIntervalMs: number;
  readonly maxInFlight: number;
  readonly embedded: boolean;
  readonly readiness: () => HealthReport;
  readonly now: () => number;
}

/** The state of the moment, from what the worker keeps anyway. `recent` only when `showRecent`. */
export async function snapshot(
  sources: StatusSources,
  recent: { show: true } | { show: false; why: string },
): Promise<StatusSnapshot> {
  const { activity } = sources;
  return {
    at: sources.now(),
    embedded: sources.embedded,
    inFlight: activity.inFlight,
    maxInFlight: sources.maxInFlight,
    queues: {
      ...(await queueDepths(sources.queueGauge)),
      intervalSeconds: sources.queueMetricsIntervalMs / 1000,
    },
    outcomes: OUTCOMES,
    perSecond: activity.perSecond(),
    totals: activity.totals(),
    readiness: sources.readiness(),
    ...(recent.show ? { recent: activity.recent() } : { recent: null, recentHidden: recent.why }),
  };
}

async function queueDepths(
  gauge: Gauge<'queue' | 'state'>,
): Promise<{ main: QueueDepth | null; dlq: QueueDepth | null }> {
  const { values } = await gauge.get();
  const depth = (queue: string): QueueDepth | null => {
    const of = (state: string) =>
      values.find((v) => v.labels.queue === queue && v.labels.state === state)?.value;
    if (!QUEUE_STATES.some((state) => of(state) !== undefined)) return null;
    return {
      visible: of('visible') ?? null,
      in_flight: of('in_flight') ?? null,
      delayed: of('delayed') ?? null,
    };
  };
  return { main: depth('main'), dlq: depth('dlq') };
}
