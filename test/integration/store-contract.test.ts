import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  DeleteTableCommand,
  GetItemCommand,
  PutItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { createDynamoClient } from '../../src/aws/clients.js';
import { DynamoDbStoreBatch } from '../../src/aws/dynamodb-batch.js';
import { DynamoDbIdempotencyStore } from '../../src/aws/dynamodb-store.js';
import { startEmulators } from '../../src/aws/embedded.js';
import { createTable } from '../../src/aws/table.js';
import type { IdempotencyStore } from '../../src/core/idempotency-store.js';
import { BatchingStore } from '../../src/worker/batching-store.js';
import { describeBatchedPath, type BatchedSubject } from '../helpers/store-contract-batch.js';
import {
  describeStoreContract,
  type RawTable,
  type RequestLog,
  type FullStore,
  type StoreUnderTest,
} from '../helpers/store-contract.js';
import { TEST_AWS_CALLS } from '../helpers/test-limits.js';

/**
 * Counts the requests the client sends, by operation. A middleware in the deserialize step runs
 * once per HTTP attempt (inside the SDK's retries), so a retried request would count twice: this
 * instruments the real client and its real store, it mocks nothing.
 */
function countRequests(client: DynamoDBClient): RequestLog {
  const counts = new Map<string, number>();
  const bytes = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.set(operation, (counts.get(operation) ?? 0) + 1);
      const body = (args.request as { body?: unknown }).body;
      const size =
        typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : 0;
      bytes.set(operation, (bytes.get(operation) ?? 0) + size);
      return next(args);
    },
    { step: 'deserialize', name: 'contractRequestCounter' },
  );
  return {
    counts: () => Object.fromEntries(counts),
    bytes: () => Object.fromEntries(bytes),
    reset: () => {
      counts.clear();
      bytes.clear();
    },
  };
}

/** The table itself, through the same client: items go in and come out as they are. */
function rawTable(client: DynamoDBClient, table: string): RawTable {
  return {
    async put(item) {
      // Imprecise numbers allowed: a test may plant a corrupt count such as 1e30.
      await client.send(
        new PutItemCommand({ TableName: table, Item: marshall(item, { allowImpreciseNumbers: true }) }),
      );
    },
    async get(pk) {
      const out = await client.send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
      );
      return out.Item && unmarshall(out.Item, { wrapNumbers: (text) => Number(text) });
    },
  };
}

/** The hot path's calls: what a BatchingStore takes; the records half stays with the table's store. */
const HOT_PATH = new Set<PropertyKey>([
  'claim',
  'renew',
  'complete',
  'fail',
  'markDeadLettered',
  'generation',
]);

/** Both halves of the store: the hot path through `hot` (a BatchingStore), the rest through `records`. */
function combined(hot: IdempotencyStore, records: FullStore): FullStore {
  return new Proxy(records, {
    get(target, property) {
      const from: object = HOT_PATH.has(property) ? hot : target;
      const value: unknown = Reflect.get(from, property, from);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(from) : value;
    },
  });
}

/** A batching store (batched first claims and completes, issue 22) on the table's single-call store. */
function batchingOn(client: DynamoDBClient, table: string, single: DynamoDbIdempotencyStore): BatchingStore {
  return new BatchingStore(single, new DynamoDbStoreBatch(client, table), { windowMs: 0, timeoutMs: 10_000 });
}

interface DynamoDbSubject extends StoreUnderTest {
  readonly requests: RequestLog;
  readonly raw: RawTable;
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly single: DynamoDbIdempotencyStore;
}

/** The DynamoDB adapter on a fresh table (deleted afterwards) at this endpoint. */
async function onDynamoDb(endpoint: string, stopEndpoint?: () => Promise<void>): Promise<DynamoDbSubject> {
  const client = createDynamoClient({
    region: process.env.AWS_REGION ?? 'us-east-1',
    sqsEndpoint: undefined,
    dynamodbEndpoint: endpoint,
    credentials: { accessKeyId: 'contract', secretAccessKey: 'contract' },
    awsCalls: TEST_AWS_CALLS,
  });
  const table = `store-contract-${randomUUID()}`;
  await createTable(client, table);
  const requests = countRequests(client);
  const single = new DynamoDbIdempotencyStore(client, table);
  return {
    store: single,
    single,
    client,
    table,
    requests,
    raw: rawTable(client, table),
    async close() {
      try {
        await client.send(new DeleteTableCommand({ TableName: table }));
      } finally {
        client.destroy();
        await stopEndpoint?.();
      }
    },
  };
}

/** The same table through a BatchingStore: every claim the contract makes with the hint, so batched. */
async function batchedOnDynamoDb(endpoint: string): Promise<StoreUnderTest> {
  const subject = await onDynamoDb(endpoint);
  const batching = batchingOn(subject.client, subject.table, subject.single);
  return { ...subject, store: combined(batching, subject.single) };
}

// Every store twice: claims as redeliveries make them, and with the first-delivery hint that the
// worker gives on a message's first receive (ClaimRequest.firstDelivery).
const HINTS = [
  { title: '', options: {} },
  { title: ', claims with the first-delivery hint', options: { firstDelivery: true } },
] as const;

for (const hint of HINTS) {
  describeStoreContract(
    `MemoryIdempotencyStore${hint.title}`,
    async () => ({ store: new MemoryIdempotencyStore(), close: async () => undefined }),
    hint.options,
  );

  describeStoreContract(
    `DynamoDbIdempotencyStore on dynalite (in-process, random port)${hint.title}`,
    async () => {
      const emulators = await startEmulators({ sqs: 0, dynamodb: 0 });
      return onDynamoDb(emulators.dynamodbEndpoint, () => emulators.stop());
    },
    // dynalite ignores ReturnValuesOnConditionCheckFailure: a refused claim reads the record back.
    { ...hint.options, wire: { refusedClaimReads: 1 } },
  );
}

// AWS's own implementation (DynamoDB Local in CI: scripts/dynamodb-local.sh), when one is named.
const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
if (endpoint) {
  for (const hint of HINTS) {
    describeStoreContract(
      `DynamoDbIdempotencyStore on ${endpoint}${hint.title}`,
      async () => onDynamoDb(endpoint),
      { ...hint.options, wire: { refusedClaimReads: 0 } },
    );
  }

  // Every case again through batched first claims and completes (issue 22): only DynamoDB Local and
  // AWS take BatchExecuteStatement. The requests differ (that is the point), so no wire costs here.
  describeStoreContract(
    `BatchingStore over DynamoDbIdempotencyStore on ${endpoint}, claims with the first-delivery hint`,
    async () => batchedOnDynamoDb(endpoint),
    { firstDelivery: true },
  );

  describe(`batched and single calls side by side on ${endpoint}`, () => {
    let subject: DynamoDbSubject | undefined;
    let batching: BatchingStore | undefined;
    let serial = 0;
    const prefix = `batched-${randomUUID().slice(0, 8)}#`;
    beforeAll(async () => {
      subject = await onDynamoDb(endpoint);
      batching = batchingOn(subject.client, subject.table, subject.single);
    });
    afterAll(async () => subject?.close());
    describeBatchedPath(
      (): BatchedSubject => {
        if (!subject || !batching) throw new Error('the table was not made');
        const { client, table, single, raw, requests } = subject;
        const stats = batching.stats;
        return {
          batched: combined(batching, single),
          single,
          raw,
          requests,
          stats: () => stats,
          worker: () => combined(batchingOn(client, table, single), single),
        };
      },
      (label) => `${prefix}${label}-${(serial += 1)}`,
    );
  });
}

/**
 * A race the contract cannot stage through the interface: DynamoDB's TTL deletes an expired record
 * between a claim's refused UpdateItem and its fresh PutItem, and another worker claims the key in
 * that gap. The interleaving is forced with a one-shot middleware on the real client.
 */
async function assertTtlDeletionMidClaimIsSafe(endpoint: string, firstDelivery: boolean): Promise<void> {
  const settings = {
    region: 'us-east-1',
    sqsEndpoint: undefined,
    dynamodbEndpoint: endpoint,
    credentials: { accessKeyId: 'contract', secretAccessKey: 'contract' },
    awsCalls: TEST_AWS_CALLS,
  };
  const table = `store-race-${randomUUID()}`;
  const other = createDynamoClient(settings);
  const client = createDynamoClient(settings);
  await createTable(other, table);
  try {
    const now = Math.ceil(Date.now() / 1000 + 10 * 365 * 86_400) * 1000;
    const request = (at: number) => ({
      pk: `race#${randomUUID()}`,
      payloadHash: 'h',
      owner: `w:${randomUUID()}`,
      now: at,
      leaseExpiresAtMs: at + 30_000,
      expiresAt: at / 1000 + 60,
    });
    const first = request(now);
    const y = new DynamoDbIdempotencyStore(other, table);
    const firstClaim = await y.claim(first);
    if (firstClaim.kind !== 'acquired') throw new Error('setup claim refused');
    await y.complete(firstClaim.claim, now);

    const later = now + 60_000; // the record expired, but is still stored
    let yResult: Awaited<ReturnType<typeof y.claim>> | undefined;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        // The fresh put that replaces the expired record (with the hint, the short claim's PutItem
        // comes first and is refused by the expired record, as the UpdateItem is without it).
        const input = args.input as { ConditionExpression?: string };
        const freshPut = input.ConditionExpression?.includes(':oldFence') === true;
        if (context.commandName === 'PutItemCommand' && freshPut && yResult === undefined) {
          await other.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: first.pk } } }));
          yResult = await y.claim({ ...request(later), pk: first.pk });
        }
        return next(args);
      },
      { step: 'initialize', name: 'ttlDeletesMidClaim' },
    );
    const xResult = await new DynamoDbIdempotencyStore(client, table).claim({
      ...request(later),
      pk: first.pk,
      firstDelivery,
    });

    expect(yResult).toMatchObject({ kind: 'acquired' });
    expect(xResult).toEqual({ kind: 'in_progress', leaseExpiresAtMs: later + 30_000 });
    const owner = yResult?.kind === 'acquired' ? yResult.claim.owner : undefined;
    expect(await y.get(first.pk, later)).toMatchObject({ owner, fence: 1 });
  } finally {
    await other.send(new DeleteTableCommand({ TableName: table }));
    client.destroy();
    other.destroy();
  }
}

describe('DynamoDbIdempotencyStore when TTL deletes an expired record mid-claim', () => {
  for (const firstDelivery of [false, true]) {
    const how = firstDelivery ? ', claiming with the first-delivery hint' : '';
    it(`on dynalite${how}: a fresh claim of the key by another worker is not overwritten`, async () => {
      const emulators = await startEmulators({ sqs: 0, dynamodb: 0 });
      try {
        await assertTtlDeletionMidClaimIsSafe(emulators.dynamodbEndpoint, firstDelivery);
      } finally {
        await emulators.stop();
      }
    });

    if (endpoint) {
      it(`on ${endpoint}${how}: a fresh claim of the key by another worker is not overwritten`, async () => {
        await assertTtlDeletionMidClaimIsSafe(endpoint, firstDelivery);
      });
    }
  }
});
