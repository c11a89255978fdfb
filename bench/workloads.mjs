// The workloads and the messages the harness sends for them (SendMessageBatch, the key in the
// IdempotencyKey message attribute), straight to fauxqs (not through the counting proxy).
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';

/**
 * handlerMs: the handler's wait per message; duplicateShare: re-sent keys; groups: FIFO groups.
 * latency-N: a noop handler with +5 ms on every DynamoDB and +15 ms on every SQS request (added
 * by the counting proxies) and N messages in flight: ours with MAX_IN_FLIGHT=N, the sqs-consumer
 * systems with N/10 consumers of batches of 10. The others run every system at its defaults
 * (ours: MAX_IN_FLIGHT 50; the sqs-consumer systems: 5 consumers).
 */
const latency = (concurrency) => ({
  handlerMs: 0,
  fifo: false,
  duplicateShare: 0,
  concurrency,
  ddbDelayMs: 5,
  sqsDelayMs: 15,
});

export const WORKLOADS = {
  noop: { handlerMs: 0, fifo: false, duplicateShare: 0 },
  io100ms: { handlerMs: 100, fifo: false, duplicateShare: 0 },
  dup20: { handlerMs: 0, fifo: false, duplicateShare: 0.2 },
  fifo: { handlerMs: 0, fifo: true, duplicateShare: 0, groups: 20 },
  'latency-10': latency(10),
  'latency-50': latency(50),
  'latency-200': latency(200),
};

/** A small deterministic PRNG (mulberry32), so every system gets the same sequence. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` sends. dup20: 20 % of them re-send a key (and body) already sent, each at a random
 * later place in the sequence, as a producer's retry would. fifo: `groups` message groups, round
 * robin, each message with its own deduplication id (so SQS keeps every send).
 */
export function buildMessages(workload, count, prefix, seed = 42) {
  const w = WORKLOADS[workload];
  const random = prng(seed);
  const dups = Math.round(count * w.duplicateShare);
  const unique = count - dups;
  const entries = Array.from({ length: unique }, (_, i) => ({ i, pos: i }));
  for (let d = 0; d < dups; d += 1) {
    const i = Math.floor(random() * unique);
    entries.push({ i, pos: i + 0.5 + random() * (unique - i) });
  }
  entries.sort((a, b) => a.pos - b.pos);
  return entries.map(({ i }, n) => {
    const key = `${prefix}-${i}`;
    return {
      key,
      body: JSON.stringify({ orderId: i, key, amount: (i * 7919) % 10_000, note: 'bench message' }),
      ...(w.fifo ? { groupId: `g${i % w.groups}`, dedupId: `${prefix}-d${n}` } : {}),
    };
  });
}

/** Sends the messages in batches of 10, `parallel` batches at a time. */
export async function fill(sqs, queueUrl, messages, parallel = 8) {
  const batches = [];
  for (let i = 0; i < messages.length; i += 10) batches.push(messages.slice(i, i + 10));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next];
      next += 1;
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((m, j) => ({
            Id: String(j),
            MessageBody: m.body,
            MessageAttributes: { IdempotencyKey: { DataType: 'String', StringValue: m.key } },
            ...(m.groupId ? { MessageGroupId: m.groupId, MessageDeduplicationId: m.dedupId } : {}),
          })),
        }),
      );
      if (out.Failed?.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed[0])}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
