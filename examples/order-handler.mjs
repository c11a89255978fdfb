// A complete handler module: run it with
//   HANDLER=examples/order-handler.mjs npm start
// The worker calls handle() once per idempotency key (duplicates never reach it).
import { PermanentError, RetryableError } from 'sqs-idempotent-worker';

/**
 * @param {import('sqs-idempotent-worker').WorkerMessage} message
 * @param {import('sqs-idempotent-worker').HandlerContext} context
 */
export async function handle(message, context) {
  const order = message.body; // parsed JSON (or the raw string when the body is not JSON)
  if (typeof order !== 'object' || order === null || typeof order.orderId !== 'number') {
    // Retrying cannot fix this: the message goes to the dead-letter queue with this reason.
    throw new PermanentError('body must be an object with a numeric orderId');
  }
  context.logger.info({ orderId: order.orderId, attempt: context.attempt }, 'charging order');

  // Pass the signal to I/O so a handler timeout or shutdown cancels it, and the fencing token to
  // the downstream write so a worker whose lease was taken over cannot overwrite a newer result.
  const response = await fetch(process.env.PAYMENTS_URL ?? 'http://127.0.0.1:9/charge', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': message.key },
    body: JSON.stringify({ orderId: order.orderId, fence: context.fencingToken }),
    signal: context.signal,
  }).catch((error) => {
    throw new RetryableError(`payments unreachable: ${error.message}`);
  });
  if (response.status === 429) throw new RetryableError('payments throttled us', { retryAfterMs: 5000 });
  if (!response.ok) throw new Error(`payments answered ${response.status}`); // retried with backoff

  // A small result is stored with the idempotency record (at most 4 KiB of JSON).
  return { charged: order.orderId };
}
