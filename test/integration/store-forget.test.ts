import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbIdempotencyStore } from '../../src/aws/dynamodb-store.js';
import { createTable } from '../../src/aws/table.js';
import type { IdempotencyStore, RecordStore } from '../../src/core/idempotency-store.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { useTestAws } from '../helpers/aws.js';

/** RecordStore.forget (`sqs-worker records forget`), on the in-memory store and on dynalite. */
describe.each(['memory', 'dynalite'] as const)('RecordStore.forget on %s', (kind) => {
  const aws = kind === 'dynalite' ? useTestAws() : undefined;
  let store: IdempotencyStore & RecordStore;
  let table = 0;

  beforeEach(async () => {
    if (!aws) {
      store = new MemoryIdempotencyStore();
      return;
    }
    table += 1;
    await createTable(aws.dynamodb, `forget-${table}`);
    store = new DynamoDbIdempotencyStore(aws.dynamodb, `forget-${table}`);
  });

  const claim = (pk: string, now: number) =>
    store.claim({
      pk,
      payloadHash: 'h',
      owner: `w:${pk}`,
      now,
      leaseExpiresAtMs: now + 30_000,
      expiresAt: Math.floor(now / 1000) + 3600,
    });

  it('deletes one record, leaves the others, and makes the key claimable again', async () => {
    const now = Date.now();
    const first = await claim('ns#a', now);
    await claim('ns#b', now);
    if (first.kind !== 'acquired') throw new Error('no claim');
    expect(await store.complete(first.claim, now, undefined)).toBe(true);
    expect(await claim('ns#a', now)).toMatchObject({ kind: 'duplicate' });

    expect(await store.forget('ns#a')).toBe(true);
    expect(await store.get('ns#a', now)).toBeUndefined();
    expect(await store.get('ns#b', now)).toMatchObject({ status: 'IN_PROGRESS' });
    expect(await claim('ns#a', now)).toMatchObject({ kind: 'acquired' });
  });

  it('says false for a key with no record', async () => {
    expect(await store.forget('ns#never')).toBe(false);
  });
});

describe('RecordStore.forget on dynalite, a malformed record', () => {
  const aws = useTestAws();

  beforeAll(async () => {
    await createTable(aws.dynamodb, 'forget-bad');
  });

  it('deletes a record that get cannot read (the way out of a corrupt one)', async () => {
    const store = new DynamoDbIdempotencyStore(aws.dynamodb, 'forget-bad');
    await aws.dynamodb.send(
      new PutItemCommand({ TableName: 'forget-bad', Item: { pk: { S: 'ns#bad' }, status: { S: 'WHAT' } } }),
    );
    await expect(store.get('ns#bad', Date.now())).rejects.toThrow(/malformed/);
    expect(await store.forget('ns#bad')).toBe(true);
    expect(await store.get('ns#bad', Date.now())).toBeUndefined();
  });
});
