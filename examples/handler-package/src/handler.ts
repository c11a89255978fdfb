// An example handler package: the worker calls handle() once per idempotency key (duplicates never
// reach it). Build it with `npm run build`, then run it with HANDLER=<path to dist/handler.js>; its
// Dockerfile puts it into an image FROM the worker's (docs/deploy.md, "Your handler in production").
import { PermanentError, RetryableError, type Handler, type WorkerMessage } from 'sqs-idempotent-worker';

interface Order {
  readonly orderId: number;
  readonly amount?: number;
}

function orderOf(message: WorkerMessage): Order {
  const body: unknown = message.body; // parsed JSON, or the raw string when the body is not JSON
  if (typeof body !== 'object' || body === null || typeof (body as Order).orderId !== 'number') {
    // Retrying cannot fix this: the message goes to the dead-letter queue with this reason.
    throw new PermanentError('body must be an object with a numeric orderId');
  }
  return body as Order;
}

export const handle: Handler = async (message, { logger, signal, fencingToken, attempt }) => {
  const order = orderOf(message);
  const url = process.env.ORDERS_URL;
  if (url !== undefined) {
    // Pass the signal so a timeout or shutdown cancels the call, and the fencing token so a worker
    // whose lease was taken over cannot overwrite a newer result downstream.
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': message.key },
      body: JSON.stringify({ ...order, fence: fencingToken }),
      signal,
    });
    if (response.status === 429)
      throw new RetryableError('orders service throttled us', { retryAfterMs: 5000 });
    if (!response.ok) throw new Error(`orders service answered ${response.status}`); // retried with backoff
  }
  logger.info({ orderId: order.orderId, attempt }, 'example-order-handler: order accepted');
  // A small result is stored with the idempotency record (at most 4 KiB of JSON).
  return { accepted: order.orderId };
};
