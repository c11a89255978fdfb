import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteTableCommand,
  GetItemCommand,
  PutItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../src/aws/clients.js';
import { claimCommand, freshItem, insertCommand, type Item } from '../../src/aws/dynamodb-items.js';
import { startEmulators, type EmbeddedEmulators } from '../../src/aws/embedded.js';
import { createTable } from '../../src/aws/table.js';
import type { ClaimRequest } from '../../src/core/idempotency-store.js';
import { TEST_AWS_CALLS } from '../helpers/test-limits.js';

/**
 * The claim's writes (aws/dynamodb-items.ts) sent as they are to dynalite, where what a condition
 * expression admits is decided; test/unit/dynamodb-items.test.ts pins the builders themselves. The
 * store contract (store-contract.test.ts) covers the store built on them.
 */

function claimOf(pk: string, extra: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    pk,
    payloadHash: 'v2:aaaa',
    owner: 'w1:t1',
    now: 1_000_500,
    leaseExpiresAtMs: 1_030_500,
    expiresAt: 4_600,
    ...extra,
  };
}

describe('the claim as DynamoDB decides it (dynalite, in-process)', () => {
  let emulators: EmbeddedEmulators;
  let client: DynamoDBClient;
  const table = `items-${randomUUID()}`;

  beforeAll(async () => {
    emulators = await startEmulators({ sqs: 0, dynamodb: 0 });
    client = createDynamoClient({
      region: 'us-east-1',
      sqsEndpoint: undefined,
      dynamodbEndpoint: emulators.dynamodbEndpoint,
      credentials: { accessKeyId: 'items', secretAccessKey: 'items' },
      awsCalls: TEST_AWS_CALLS,
    });
    await createTable(client, table);
  });

  afterAll(async () => {
    await client.send(new DeleteTableCommand({ TableName: table }));
    client.destroy();
    await emulators.stop();
  });

  async function stored(pk: string): Promise<Item | undefined> {
    const key = { pk: { S: pk } };
    return (await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
  }

  async function refused(send: Promise<unknown>): Promise<boolean> {
    try {
      await send;
      return false;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return true;
      throw error;
    }
  }

  it('on an absent key, claimCommand writes exactly the fresh record, the hashed key included', async () => {
    const plain = claimOf(`q#${randomUUID()}`);
    await client.send(claimCommand(table, plain));
    expect(await stored(plain.pk)).toEqual(freshItem(plain, 1));

    const hashed = claimOf(`q#${randomUUID()}`, { key: 'the key as sent' });
    await client.send(claimCommand(table, hashed));
    expect(await stored(hashed.pk)).toEqual(freshItem(hashed, 1));
    expect((await stored(hashed.pk))?.key).toEqual({ S: 'the key as sent' });
  });

  it('takes over a lease that ended at lapsedBefore, not one that ends after it', async () => {
    const pk = `q#${randomUUID()}`;
    await client.send(new PutItemCommand({ TableName: table, Item: freshItem(claimOf(pk), 1) }));
    const later = claimOf(pk, { owner: 'w2:t2', now: 1_040_000, leaseExpiresAtMs: 1_070_000 });
    expect(await refused(client.send(claimCommand(table, { ...later, lapsedBefore: 1_030_499 })))).toBe(true);
    const taken = await client.send(claimCommand(table, { ...later, lapsedBefore: 1_030_500 }));
    expect(taken.Attributes?.owner).toEqual({ S: 'w1:t1' });
    expect(await stored(pk)).toMatchObject({
      owner: { S: 'w2:t2' },
      fence: { N: '2' },
      attempts: { N: '2' },
      firstSeenAtMs: { N: '1000500' },
      updatedAtMs: { N: '1040000' },
    });
  });

  it('insertCommand is refused by any stored item, and leaves it as it was', async () => {
    const pk = `q#${randomUUID()}`;
    await client.send(insertCommand(table, claimOf(pk)));
    expect(await refused(client.send(insertCommand(table, claimOf(pk, { owner: 'w2:t2' }))))).toBe(true);
    expect((await stored(pk))?.owner).toEqual({ S: 'w1:t1' });
  });
});
