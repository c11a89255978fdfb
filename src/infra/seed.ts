import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { Producer } from 'sqs-producer';

export interface SeedRequest {
  /** Messages with distinct keys. */
  readonly count: number;
  /** Extra messages reusing keys (and bodies) already sent: the worker must skip them. */
  readonly duplicates?: number;
  /** FIFO queues: the message group (default: one group per key). */
  readonly groupId?: string;
}

export interface SeedResult {
  readonly sent: number;
  readonly unique: number;
  readonly duplicates: number;
  readonly keys: readonly string[];
}

/**
 * Sends generated messages through sqs-producer (batches of 10). Each carries its key in the
 * key attribute; duplicates are exact re-sends, as a producer's retry would be.
 */
export async function seedMessages(
  sqs: SQSClient,
  queueUrl: string,
  keyAttribute: string,
  request: SeedRequest,
): Promise<SeedResult> {
  const producer = Producer.create({ queueUrl, sqs, batchSize: 10 });
  const run = randomUUID().slice(0, 8);
  const fifo = queueUrl.endsWith('.fifo');
  const unique = Array.from({ length: request.count }, (_, i) => ({
    key: `seed-${run}-${i + 1}`,
    body: JSON.stringify({ seq: i + 1, run, createdAt: new Date().toISOString() }),
  }));
  const repeats = Array.from({ length: request.duplicates ?? 0 }, (_, i) => unique[i % unique.length]!);
  const all = [...unique, ...repeats];
  for (let i = 0; i < all.length; i += 100) {
    await producer.send(
      all.slice(i, i + 100).map((m, j) => ({
        id: `m${i + j}`,
        body: m.body,
        messageAttributes: { [keyAttribute]: { DataType: 'String', StringValue: m.key } },
        ...(fifo ? { groupId: request.groupId ?? m.key, deduplicationId: `${m.key}-${i + j}` } : {}),
      })),
    );
  }
  return {
    sent: all.length,
    unique: unique.length,
    duplicates: repeats.length,
    keys: unique.map((m) => m.key),
  };
}
