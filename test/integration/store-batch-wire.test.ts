import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DEFAULT_AWS_CALLS, createDynamoClient } from '../../src/aws/clients.js';
import { DynamoDbStoreBatch, probeStoreBatching } from '../../src/aws/dynamodb-batch.js';
import { DynamoDbIdempotencyStore } from '../../src/aws/dynamodb-store.js';
import { startEmulators } from '../../src/aws/embedded.js';
import { createTable } from '../../src/aws/table.js';
import { BatchingStore } from '../../src/worker/batching-store.js';
import { AppliedThen500Proxy } from '../helpers/http-fault-proxy.js';
import { LEASE_MS, T0, acquired, claimAt } from '../helpers/store-contract-dynamodb.js';

/**
 * Batched claims and completes (issue 22) across the wire: a BatchExecuteStatement that DynamoDB
 * applied and the proxy answered 500. Retried by the SDK, its statements meet their own effect and
 * are refused (DuplicateItem, ConditionalCheckFailed); answered 500 every time, the request fails
 * as a whole. Either way each write goes on through the single calls, which must recognise it as
 * their own: the claim acquired with fence 1, the complete true.
 */
function client(endpoint: string, maxAttempts = DEFAULT_AWS_CALLS.maxAttempts): DynamoDBClient {
  return createDynamoClient({
    region: 'us-east-1',
    sqsEndpoint: undefined,
    dynamodbEndpoint: endpoint,
    credentials: { accessKeyId: 'wire', secretAccessKey: 'wire' },
    awsCalls: { ...DEFAULT_AWS_CALLS, maxAttempts },
  });
}

describe('the batching probe', () => {
  it('keeps single calls on dynalite, which answers UnknownOperationException', async () => {
    const emulators = await startEmulators({ sqs: 0, dynamodb: 0 });
    const dynamo = client(emulators.dynamodbEndpoint, 1);
    try {
      const table = `probe-${randomUUID()}`;
      await createTable(dynamo, table);
      const choice = await probeStoreBatching(dynamo, table, 'ns');
      expect(choice).toMatchObject({ mode: 'single' });
      expect(choice.reason).toMatch(/UnknownOperation/);
    } finally {
      dynamo.destroy();
      await emulators.stop();
    }
  });
});

// AWS's own implementation (DynamoDB Local in CI: scripts/dynamodb-local.sh), when one is named.
const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
if (endpoint) describeBatchedWire(endpoint);

function describeBatchedWire(endpoint: string): void {
  describe(`batched writes answered 500 after they applied, on ${endpoint}`, () => {
    let proxy: AppliedThen500Proxy;
    let direct: DynamoDBClient;
    let viaProxy: DynamoDBClient;
    const table = `batch-wire-${randomUUID()}`;

    beforeAll(async () => {
      direct = client(endpoint);
      await createTable(direct, table);
      proxy = await AppliedThen500Proxy.start(endpoint);
      viaProxy = client(proxy.url);
    });

    afterAll(async () => {
      viaProxy.destroy();
      await proxy.close();
      await direct.send(new DeleteTableCommand({ TableName: table }));
      direct.destroy();
    });

    beforeEach(() => proxy.reset());

    const batching = () =>
      new BatchingStore(
        new DynamoDbIdempotencyStore(viaProxy, table),
        new DynamoDbStoreBatch(viaProxy, table),
        {
          windowMs: 0,
          timeoutMs: 10_000,
        },
      );

    const stored = async (pk: string) => {
      const out = await direct.send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
      );
      return out.Item && unmarshall(out.Item);
    };

    it('the probe finds BatchExecuteStatement', async () => {
      expect(await probeStoreBatching(direct, table, 'ns')).toMatchObject({ mode: 'batched' });
    });

    for (const [label, times] of [
      ["retried by the SDK, the request's statements are refused", 1],
      ['answered 500 on every attempt, the request fails as a whole', DEFAULT_AWS_CALLS.maxAttempts],
    ] as const) {
      it(`${label}: each claim and complete is still recognised as ours`, async () => {
        const store = batching();
        const held = acquired(
          await store.claim({ ...claimAt(`wire#${randomUUID()}`, T0), firstDelivery: true }),
        );
        const fresh = { ...claimAt(`wire#${randomUUID()}`, T0), firstDelivery: true };
        proxy.reset();
        proxy.failAfterApply('BatchExecuteStatement', times);
        const [completed, claimed] = await Promise.all([
          store.complete(held, T0 + 1, '{"ok":true}'),
          store.claim(fresh),
        ]);
        expect(completed).toBe(true);
        expect(claimed).toEqual({
          kind: 'acquired',
          takeover: false,
          claim: { pk: fresh.pk, owner: fresh.owner, fence: 1, attempt: 1 },
        });
        expect(proxy.log.filter((op) => op === 'BatchExecuteStatement!')).toHaveLength(times);
        expect(store.stats.failedRequests).toBe(times === 1 ? 0 : 1);
        expect(await stored(held.pk)).toMatchObject({
          status: 'COMPLETED',
          owner: held.owner,
          result: '{"ok":true}',
        });
        expect(await stored(fresh.pk)).toMatchObject({
          status: 'IN_PROGRESS',
          owner: fresh.owner,
          fence: 1,
          attempts: 1,
          leaseExpiresAtMs: T0 + LEASE_MS,
        });
      });
    }
  });
}
