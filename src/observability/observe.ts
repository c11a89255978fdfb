import { systemClock, type Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MessageEvent, ObservableRuntime, ObservableStoreCircuit } from '../core/events.js';
import { OUTCOMES, type Metrics, type POLL_ERROR_REASONS } from './metrics.js';

/** Failure logs of one kind (receive, heartbeat, settle, store) write at most one line this often. */
export const FAILURE_LOG_INTERVAL_MS = 10_000;

/** Writes one failure line; `more` is how many others of its kind it stands for (0: none). */
type FailureLine = (more: number) => void;

/**
 * Rate limit for failure logs, so an outage writes one line per kind per interval instead of one
 * per failed call: the first failure of a kind is written at once; the ones within the next
 * interval are counted, and at its end the latest is written with the count of the others
 * (`receive failed (37 more in the last 10 s)`). Every failure is written or counted, never lost.
 * Time comes from the clock and a timer, so fake timers drive it in tests.
 */
export class FailureLogLimiter {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #kinds = new Map<
    string,
    {
      startedAt: number;
      suppressed: number;
      latest?: FailureLine | undefined;
      timer?: NodeJS.Timeout | undefined;
    }
  >();

  constructor(clock: Clock = systemClock, intervalMs = FAILURE_LOG_INTERVAL_MS) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  log(kind: string, write: FailureLine): void {
    const now = this.#clock.now();
    const open = this.#kinds.get(kind);
    if (open && open.suppressed > 0 && now - open.startedAt >= this.#intervalMs) this.#flush(kind);
    const window = this.#kinds.get(kind);
    if (!window || now - window.startedAt >= this.#intervalMs) {
      write(0);
      this.#kinds.set(kind, { startedAt: now, suppressed: 0 });
      return;
    }
    window.suppressed += 1;
    window.latest = write;
    window.timer ??= setTimeout(
      () => this.#flush(kind),
      Math.max(0, window.startedAt + this.#intervalMs - now),
    ).unref();
  }

  /** `message`, with the count of the lines it stands for when there are any. */
  text(message: string, more: number): string {
    return more === 0 ? message : `${message} (${more} more in the last ${this.#intervalMs / 1000} s)`;
  }

  #flush(kind: string): void {
    const window = this.#kinds.get(kind);
    if (!window) return;
    clearTimeout(window.timer);
    window.timer = undefined;
    const { latest, suppressed } = window;
    if (!latest || suppressed === 0) return;
    window.startedAt = this.#clock.now();
    window.suppressed = 0;
    window.latest = undefined;
    latest(suppressed - 1);
  }
}

/**
 * The one place where runtime events become log lines and metric samples. Labels are bounded:
 * outcomes, fixed poll error reasons and settle operations; never a message id, key or error text
 * (those go to the log line of the message instead). Metrics count every failure; failure logs
 * go through a FailureLogLimiter.
 */
export function observeRuntime(
  runtime: ObservableRuntime,
  metrics: Metrics,
  logger: Logger,
  clock: Clock = systemClock,
  limiter: FailureLogLimiter = new FailureLogLimiter(clock),
): void {
  metrics.setInFlightSource(() => runtime.inFlight);
  observeMessages(runtime, metrics, clock, limiter);
  observeTrouble(runtime, metrics, logger, limiter);
}

/** Each message received and settled: counts, ages, handler times, and its outcome's log line. */
function observeMessages(
  runtime: ObservableRuntime,
  metrics: Metrics,
  clock: Clock,
  limiter: FailureLogLimiter,
): void {
  // Label children made once: no labels object to build per message.
  const byOutcome = new Map(
    OUTCOMES.map((outcome) => [
      outcome,
      {
        processed: metrics.messagesProcessed.labels({ outcome }),
        handler: metrics.handlerDuration.labels({ outcome }),
      },
    ]),
  );
  runtime.on('message_received', (message) => {
    metrics.messagesReceived.inc();
    metrics.receiveCount.observe(message.receiveCount);
    if (message.sentAt !== undefined) {
      metrics.messageAge.observe(Math.max(0, clock.now() - message.sentAt) / 1000);
    }
  });
  runtime.on('message_settled', (event) => {
    const { processed } = event;
    const series = byOutcome.get(processed.outcome);
    series?.processed.inc();
    if (processed.reason?.code === 'NO_DEAD_LETTER_QUEUE') {
      metrics.parkedWithoutDlq.inc({ reason: processed.reason.original ?? 'INTERNAL_ERROR' });
    }
    if (processed.handlerMs !== undefined) series?.handler.observe(processed.handlerMs / 1000);
    logOutcome(event, limiter);
  });
  runtime.on('poll_succeeded', () => metrics.lastPoll.set((runtime.lastPollAt ?? clock.now()) / 1000));
}

/** What went wrong around the messages: receives, leases, heartbeats and settles, rate-limited. */
function observeTrouble(
  runtime: ObservableRuntime,
  metrics: Metrics,
  logger: Logger,
  limiter: FailureLogLimiter,
): void {
  runtime.on('poll_failed', (error) => {
    const reason = pollErrorReason(error);
    metrics.pollErrors.inc({ reason });
    limiter.log('receive', (more) =>
      logger.error({ reason, error: describeError(error), more }, limiter.text('receive failed', more)),
    );
  });
  runtime.on('lease_lost', (message) => {
    metrics.heartbeatFailures.inc({ reason: 'lease_lost' });
    logger.warn(
      { messageId: message.messageId, key: message.key },
      'lease lost while the handler ran: another worker took the key over',
    );
  });
  runtime.on('heartbeat_failed', (message, error) => {
    metrics.heartbeatFailures.inc({ reason: 'error' });
    limiter.log('heartbeat', (more) =>
      logger.warn(
        { messageId: message.messageId, error: describeError(error), more },
        limiter.text('heartbeat failed', more),
      ),
    );
  });
  runtime.on('settle_failed', (message, operation, error) => {
    metrics.settleErrors.inc({ operation });
    limiter.log('settle', (more) =>
      logger.error(
        { messageId: message.messageId, operation, error: describeError(error), more },
        limiter.text('settling a message failed', more),
      ),
    );
  });
}

/**
 * The store's circuit breaker as metrics and log lines: warn when receiving pauses, info when it
 * resumes (with how long it was paused), debug for each failed probe (the gauge and /readyz say
 * the state meanwhile; at most one probe per 30 s once the backoff is at its cap).
 */
export function observeStoreCircuit(circuit: ObservableStoreCircuit, metrics: Metrics, logger: Logger): void {
  metrics.storeCircuitOpen.set(circuit.open ? 1 : 0);
  circuit.on('store_circuit_opened', (failures, error) => {
    metrics.storeCircuitOpen.set(1);
    metrics.storeCircuitOpenings.inc();
    logger.warn(
      { failures, error: describeError(error) },
      'receiving paused: the idempotency store fails (store calls failed in a row); probing it until it answers',
    );
  });
  circuit.on('store_circuit_closed', (pausedMs, by) => {
    metrics.storeCircuitOpen.set(0);
    logger.info({ pausedMs, by }, 'receiving resumed: the idempotency store answers again');
  });
  circuit.on('store_probe_failed', (error) => {
    logger.debug({ error: describeError(error) }, 'idempotency store probe failed: receiving stays paused');
  });
}

/**
 * One line per delivery, on the message's child logger, with its outcome and duration: at debug
 * for success and duplicate (the normal case: at scale a line per message is most of a worker's
 * logging CPU and log volume, and sqs_worker_messages_processed_total counts them), at warn or
 * error for every other outcome; deliveries the store could not serve (STORE_UNAVAILABLE) are an outage,
 * so rate-limited.
 */
function logOutcome({ processed, durationMs, logger }: MessageEvent, limiter: FailureLogLimiter): void {
  const line = {
    outcome: processed.outcome,
    action: processed.action,
    durationMs,
    handlerMs: processed.handlerMs,
    // The log leaves out a field that is undefined.
    attempt: processed.claim?.attempt,
    fence: processed.claim?.fence,
    reason: processed.reason?.code,
    detail: processed.reason?.message,
  };
  if (processed.reason?.code === 'STORE_UNAVAILABLE') {
    limiter.log('store', (more) =>
      logger.warn({ ...line, more }, limiter.text(`message ${processed.outcome}`, more)),
    );
  } else if (processed.reason?.code === 'NO_DEAD_LETTER_QUEUE') {
    // A poison message that cannot leave the queue: loud every time it comes back (twice a day).
    logger.error(
      { ...line, originalReason: processed.reason.original },
      'message parked for 12 hours: it would be dead-lettered, but the queue has no dead-letter queue',
    );
  } else if (processed.outcome === 'success' || processed.outcome === 'duplicate') {
    logger.debug(line, `message ${processed.outcome}`);
  } else {
    logger.warn(line, `message ${processed.outcome}`);
  }
}

/** A small fixed set of reasons, so the label never grows with error texts. */
export function pollErrorReason(error: unknown): (typeof POLL_ERROR_REASONS)[number] {
  const text = `${describeError(error)} ${(error as { code?: unknown } | undefined)?.code ?? ''}`;
  if (/credential|signature|security token|AccessDenied|not authorized|UnrecognizedClient/i.test(text)) {
    return 'auth';
  }
  if (/NonExistentQueue|does not exist|QueueDoesNotExist/i.test(text)) return 'queue_missing';
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|socket|network|EAI_AGAIN/i.test(text)) return 'network';
  if (/throttl|rate exceeded|RequestThrottled/i.test(text)) return 'throttled';
  return 'other';
}
