// A batch handler module: run it with
//   HANDLER=examples/bulk-handler.mjs BULK_URL=http://127.0.0.1:8080/bulk npm start
// The worker claims each message's key on its own (duplicates never get here), gathers the
// claimed messages for up to HANDLER_BATCH_WINDOW (at most SQS_BATCH_SIZE of them), and calls
// handleBatch once for them. Return one outcome per message, in order: each message is then
// completed, retried or dead-lettered on its own, so a partial failure retries only the failed.
import { PermanentError, RetryableError } from 'sqs-idempotent-worker';

/**
 * @param {readonly import('sqs-idempotent-worker').WorkerMessage[]} messages
 * @param {import('sqs-idempotent-worker').BatchContext} context
 * @returns {Promise<import('sqs-idempotent-worker').BatchOutcome[]>}
 */
export async function handleBatch(messages, { signal, contexts }) {
  // One bulk write for the whole batch. Each item carries its key's fencing token, so a worker
  // whose lease was taken over cannot overwrite a newer result downstream.
  const items = messages.map((message, i) => ({
    key: message.key,
    fence: contexts[i].fencingToken,
    body: message.body,
  }));
  const response = await fetch(process.env.BULK_URL ?? 'http://127.0.0.1:9/bulk', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ items }),
    signal, // aborted on timeout, shutdown or a lost lease of any message of the batch
  }).catch((error) => {
    throw new RetryableError(`bulk endpoint unreachable: ${error.message}`);
  });
  // A throw fails every message of the batch (each is retried, or dead-lettered on PermanentError).
  if (!response.ok) throw new Error(`bulk endpoint answered ${response.status}`);

  // The endpoint answers one status per item, in order.
  const { statuses } = await response.json();
  return messages.map((message, i) => {
    const status = statuses?.[i];
    if (status === 200) return { result: { stored: message.key } }; // stored with the record
    if (status === 400) return { error: new PermanentError(`rejected: ${message.key}`) }; // dead-lettered
    return { error: new Error(`item answered ${status}`) }; // retried with backoff, alone
  });
}
