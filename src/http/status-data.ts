import type { Gauge } from 'prom-client';
import type { Outcome } from '../core/pipeline.js';
import type { HealthReport } from '../observability/health.js';
import { OUTCOMES } from '../observability/metrics.js';
import type {
  ActivitySource,
  FailureEntry,
  HandlerTimes,
  History,
  OldestAge,
  PerSecond,
  SettledEntry,
} from '../observability/recent.js';
import type { DepthReads } from '../observability/sqs-metrics.js';

/**
 * The page's headline: `ok` (ready, nothing waiting for a human), `warning` (ready, but the
 * dead-letter queue holds messages or the depths are stale), `not_ready` (GET /readyz fails).
 */
export type StatusState = 'ok' | 'warning' | 'not_ready';

/** A failure as shown: its key only to viewers who may see keys (null otherwise). */
export type FailureView = Omit<FailureEntry, 'key'> & { readonly key: string | null };

/** What the status page shows; also the body of GET /status.json. */
export interface StatusSnapshot {
  /** Epoch ms. */
  readonly at: number;
  readonly state: StatusState;
  /** Why the state is not `ok`, one sentence each. */
  readonly problems: readonly string[];
  readonly embedded: boolean;
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly queues: {
    readonly main: QueueDepth | null;
    readonly dlq: QueueDepth | null;
    /** How often the depths are read (QUEUE_METRICS_INTERVAL); 0: never. */
    readonly intervalSeconds: number;
    /** Epoch ms of the last successful read of the depths shown; null: none yet. */
    readonly lastReadAt: number | null;
    /** The depths are older than `staleAfterSeconds` (or no read ever succeeded and one failed). */
    readonly stale: boolean;
    /** 2 × intervalSeconds. */
    readonly staleAfterSeconds: number;
    /** The last read's error while reads fail. */
    readonly readError: string | null;
  };
  /** Received and settled per second over the last 10 s: in against out. */
  readonly rates: { readonly inPerSecond: number; readonly outPerSecond: number };
  readonly handler: HandlerTimes;
  readonly oldestAge: OldestAge;
  readonly history: History;
  /** The last failures, newest first (dead-lettered, retried, lease lost, payload mismatch). */
  readonly failures: readonly FailureView[];
  readonly outcomes: readonly Outcome[];
  readonly perSecond: PerSecond;
  readonly totals: Readonly<Record<Outcome, number>>;
  readonly readiness: HealthReport;
  /** null when the client may not see keys (see `recentHidden`). */
  readonly recent: readonly SettledEntry[] | null;
  readonly recentHidden?: string;
  /** Batched or single writes to the idempotency store, and why; null before the start probed it. */
  readonly storeWrites: StoreWrites | null;
}

/** STORE_BATCHING's choice as the app made it at start (or later, when batching gave up). */
export interface StoreWrites {
  readonly mode: 'batched' | 'single';
  readonly reason: string;
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
  /** How the queue depth reads went; undefined before the worker started (no poller yet). */
  readonly depthReads?: () => DepthReads | undefined;
  readonly storeBatching?: () => StoreWrites | undefined;
  readonly now: () => number;
}

/** Depths are stale when older than this many read intervals. */
export const STALE_INTERVALS = 2;
/** The rates are averaged over this many seconds. */
const RATE_SECONDS = 10;

/** The state of the moment, from what the worker keeps anyway. Keys only when `recent.show`. */
export async function snapshot(
  sources: StatusSources,
  recent: { show: true } | { show: false; why: string },
): Promise<StatusSnapshot> {
  const { activity } = sources;
  const at = sources.now();
  const perSecond = activity.perSecond();
  const queues = {
    ...(await queueDepths(sources.queueGauge)),
    ...depthFreshness(sources, at),
  };
  const readiness = sources.readiness();
  const { state, problems } = stateOf(readiness, queues);
  return {
    at,
    state,
    problems,
    embedded: sources.embedded,
    inFlight: activity.inFlight,
    maxInFlight: sources.maxInFlight,
    queues,
    rates: rates(perSecond),
    handler: activity.handlerTimes(),
    oldestAge: activity.oldestAge(),
    history: activity.history(),
    failures: activity.failures().map((f) => (recent.show ? f : { ...f, key: null })),
    outcomes: OUTCOMES,
    perSecond,
    totals: activity.totals(),
    readiness,
    storeWrites: storeWrites(sources),
    ...(recent.show ? { recent: activity.recent() } : { recent: null, recentHidden: recent.why }),
  };
}

/** A copy of the choice (its mode and reason only), so the JSON never carries more than those. */
function storeWrites(sources: StatusSources): StoreWrites | null {
  const choice = sources.storeBatching?.();
  return choice === undefined ? null : { mode: choice.mode, reason: choice.reason };
}

/** When the depths were last read, and whether that is too long ago to trust them. */
function depthFreshness(
  sources: StatusSources,
  at: number,
): Pick<
  StatusSnapshot['queues'],
  'intervalSeconds' | 'lastReadAt' | 'stale' | 'staleAfterSeconds' | 'readError'
> {
  const intervalMs = sources.queueMetricsIntervalMs;
  const reads = sources.depthReads?.();
  const lastReadAt = reads?.lastOkAt ?? null;
  const staleAfterMs = STALE_INTERVALS * intervalMs;
  const stale =
    intervalMs > 0 &&
    (lastReadAt === null ? reads?.failingSince !== undefined : at - lastReadAt > staleAfterMs);
  return {
    intervalSeconds: intervalMs / 1000,
    lastReadAt,
    stale,
    staleAfterSeconds: staleAfterMs / 1000,
    readError: reads?.lastError ?? null,
  };
}

function stateOf(
  readiness: HealthReport,
  queues: Pick<StatusSnapshot['queues'], 'dlq' | 'stale' | 'lastReadAt'>,
): { state: StatusState; problems: string[] } {
  const problems: string[] = [];
  if (!readiness.ok) problems.push('not ready: see Readiness');
  const dlq = queues.dlq;
  const held = dlq === null ? 0 : (dlq.visible ?? 0) + (dlq.in_flight ?? 0) + (dlq.delayed ?? 0);
  if (held > 0) problems.push(`the dead-letter queue holds ${held} message${held === 1 ? '' : 's'}`);
  if (queues.stale) {
    problems.push(
      queues.lastReadAt === null
        ? 'queue depths could not be read yet'
        : 'queue depths are stale: the last successful read is too old',
    );
  }
  const state: StatusState = !readiness.ok ? 'not_ready' : problems.length > 0 ? 'warning' : 'ok';
  return { state, problems };
}

/** Received and settled per second over the last RATE_SECONDS seconds (the current one included). */
function rates(perSecond: PerSecond): StatusSnapshot['rates'] {
  const last = (values: readonly number[]) => values.slice(-RATE_SECONDS).reduce((a, b) => a + b, 0);
  const settled = OUTCOMES.reduce((total, o) => total + last(perSecond.counts[o]), 0);
  const round = (n: number) => Math.round((n / RATE_SECONDS) * 10) / 10;
  return { inPerSecond: round(last(perSecond.received)), outPerSecond: round(settled) };
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
