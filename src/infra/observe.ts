import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { WorkerRuntime } from '../worker/runtime.js';
import type { Metrics } from './metrics.js';

/** The one place where runtime events become log lines and metric samples. */
export function observeRuntime(runtime: WorkerRuntime, metrics: Metrics, logger: Logger): void {
  runtime.on('message_received', () => {
    metrics.messagesReceived.inc();
    metrics.messagesInFlight.set(runtime.inFlight);
  });
  runtime.on('message_settled', ({ processed, durationMs, logger: messageLogger }) => {
    metrics.messagesProcessed.inc({ outcome: processed.outcome });
    metrics.messagesInFlight.set(runtime.inFlight - 1);
    if (processed.handlerMs !== undefined) {
      metrics.handlerDuration.observe({ outcome: processed.outcome }, processed.handlerMs / 1000);
    }
    const line = {
      outcome: processed.outcome,
      action: processed.action,
      durationMs,
      ...(processed.claim ? { attempt: processed.claim.attempt, fence: processed.claim.fence } : {}),
      ...(processed.reason ? { reason: processed.reason.code, detail: processed.reason.message } : {}),
    };
    if (processed.outcome === 'success' || processed.outcome === 'duplicate') {
      messageLogger.info(line, `message ${processed.outcome}`);
    } else {
      messageLogger.warn(line, `message ${processed.outcome}`);
    }
  });
  runtime.on('poll_succeeded', () => metrics.lastPoll.set(Date.now() / 1000));
  runtime.on('poll_failed', (error) => {
    const reason = pollErrorReason(error);
    metrics.pollErrors.inc({ reason });
    logger.error({ reason, error: describeError(error) }, 'receive failed');
  });
  runtime.on('settle_failed', (message, operation, error) => {
    metrics.settleErrors.inc({ operation });
    logger.error(
      { messageId: message.messageId, operation, error: describeError(error) },
      'settling a message failed',
    );
  });
}

/** A small fixed set of reasons, so the label never grows with error texts. */
export function pollErrorReason(error: unknown): string {
  const text = describeError(error);
  if (/credential|signature|security token|AccessDenied|not authorized/i.test(text)) return 'auth';
  if (/NonExistentQueue|does not exist|QueueDoesNotExist/i.test(text)) return 'queue_missing';
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|socket|network|EAI_AGAIN/i.test(text)) return 'network';
  if (/throttl|rate exceeded/i.test(text)) return 'throttled';
  return 'other';
}
