import { systemClock, type Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MessageEvent, ObservableRuntime } from '../core/events.js';
import type { Metrics, POLL_ERROR_REASONS } from './metrics.js';

/**
 * The one place where runtime events become log lines and metric samples. Labels are bounded:
 * outcomes, fixed poll error reasons and settle operations; never a message id, key or error text
 * (those go to the log line of the message instead).
 */
export function observeRuntime(
  runtime: ObservableRuntime,
  metrics: Metrics,
  logger: Logger,
  clock: Clock = systemClock,
): void {
  metrics.setInFlightSource(() => runtime.inFlight);
  runtime.on('message_received', (message) => {
    metrics.messagesReceived.inc();
    metrics.receiveCount.observe(message.receiveCount);
    if (message.sentAt !== undefined) {
      metrics.messageAge.observe(Math.max(0, clock.now() - message.sentAt) / 1000);
    }
  });
  runtime.on('message_settled', (event) => {
    const { processed } = event;
    metrics.messagesProcessed.inc({ outcome: processed.outcome });
    if (processed.handlerMs !== undefined) {
      metrics.handlerDuration.observe({ outcome: processed.outcome }, processed.handlerMs / 1000);
    }
    logOutcome(event);
  });
  runtime.on('poll_succeeded', () => metrics.lastPoll.set((runtime.lastPollAt ?? clock.now()) / 1000));
  runtime.on('poll_failed', (error) => {
    const reason = pollErrorReason(error);
    metrics.pollErrors.inc({ reason });
    logger.error({ reason, error: describeError(error) }, 'receive failed');
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
    logger.warn({ messageId: message.messageId, error: describeError(error) }, 'heartbeat failed');
  });
  runtime.on('settle_failed', (message, operation, error) => {
    metrics.settleErrors.inc({ operation });
    logger.error(
      { messageId: message.messageId, operation, error: describeError(error) },
      'settling a message failed',
    );
  });
}

/** One line per delivery, on the message's child logger, with its outcome and duration. */
function logOutcome({ processed, durationMs, logger }: MessageEvent): void {
  const line = {
    outcome: processed.outcome,
    action: processed.action,
    durationMs,
    ...(processed.handlerMs === undefined ? {} : { handlerMs: processed.handlerMs }),
    ...(processed.claim ? { attempt: processed.claim.attempt, fence: processed.claim.fence } : {}),
    ...(processed.reason ? { reason: processed.reason.code, detail: processed.reason.message } : {}),
  };
  if (processed.outcome === 'success' || processed.outcome === 'duplicate') {
    logger.info(line, `message ${processed.outcome}`);
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
