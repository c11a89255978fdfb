import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createDynamoClient } from '../../src/aws/clients.js';
import { DynamoDbIdempotencyStore } from '../../src/aws/dynamodb-store.js';
import { startEmulators } from '../../src/aws/embedded.js';
import { createTable } from '../../src/aws/table.js';
import { AppliedThen500Proxy } from '../helpers/http-fault-proxy.js';
import { LEASE_MS, T0, acquired, claimAt } from '../helpers/store-contract-dynamodb.js';
import { TEST_AWS_CALLS } from '../helpers/test-limits.js';

/**
 * Issue 19, item 1, across the wire: a proxy in front of the emulator forwards a write, lets it
 * apply, and answers the client 500. The SDK's own retry then meets its own effect, and the store
 * must take that for the success it is: a claim acquired (fence 1, attempt 1), not in_progress
 * for its own lease; complete and fail true, not lease_lost.
 */
function client(endpoint: string): DynamoDBClient {
  return createDynamoClient({
    region: 'us-east-1',
    sqsEndpoint: undefined,
    dynamodbEndpoint: endpoint,
    credentials: { accessKeyId: 'wire', secretAccessKey: 'wire' },
    awsCalls: TEST_AWS_CALLS,
  });
}

function describeAmbiguousWrites(
  name: string,
  endpointOf: () => Promise<{ url: string; stop(): Promise<void> }>,
) {
  describe(`own writes answered 500 after they applied, on ${name}`, () => {
    let backend: { url: string; stop(): Promise<void> };
    let proxy: AppliedThen500Proxy;
    let direct: DynamoDBClient;
    let viaProxy: DynamoDBClient;
    let store: DynamoDbIdempotencyStore;
    const table = `ambiguous-${randomUUID()}`;

    beforeAll(async () => {
      backend = await endpointOf();
      direct = client(backend.url);
      await createTable(direct, table);
      proxy = await AppliedThen500Proxy.start(backend.url);
      viaProxy = client(proxy.url);
      store = new DynamoDbIdempotencyStore(viaProxy, table);
    });

    afterAll(async () => {
      viaProxy.destroy();
      await proxy.close();
      await direct.send(new DeleteTableCommand({ TableName: table }));
      direct.destroy();
      await backend.stop();
    });

    beforeEach(() => proxy.reset());

    const stored = async (pk: string) => {
      const out = await direct.send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
      );
      return out.Item && unmarshall(out.Item);
    };

    for (const [label, firstDelivery, write] of [
      ['the full claim (UpdateItem)', false, 'UpdateItem'],
      ['the short claim (PutItem, first-delivery hint)', true, 'PutItem'],
    ] as const) {
      it(`${label}: acquired with fence 1, attempt 1`, async () => {
        const request = { ...claimAt(`wire#${randomUUID()}`, T0), firstDelivery };
        proxy.failAfterApply(write);
        expect(await store.claim(request)).toEqual({
          kind: 'acquired',
          takeover: false,
          claim: { pk: request.pk, owner: request.owner, fence: 1, attempt: 1 },
        });
        expect(proxy.log.slice(0, 2)).toEqual([`${write}!`, write]);
        expect(await stored(request.pk)).toMatchObject({
          status: 'IN_PROGRESS',
          owner: request.owner,
          fence: 1,
          attempts: 1,
          leaseExpiresAtMs: T0 + LEASE_MS,
        });
      });
    }

    it('complete: true, and the record is COMPLETED with the result', async () => {
      const claim = acquired(await store.claim(claimAt(`wire#${randomUUID()}`, T0)));
      proxy.reset();
      proxy.failAfterApply('UpdateItem');
      expect(await store.complete(claim, T0 + 1, '{"ok":true}')).toBe(true);
      expect(proxy.log.slice(0, 2)).toEqual(['UpdateItem!', 'UpdateItem']);
      expect(await stored(claim.pk)).toMatchObject({
        status: 'COMPLETED',
        owner: claim.owner,
        result: '{"ok":true}',
      });
    });

    it('fail, and fail with a dead-letter reason: true, and the record holds that state', async () => {
      for (const reason of [undefined, 'PERMANENT_ERROR']) {
        const claim = acquired(await store.claim(claimAt(`wire#${randomUUID()}`, T0)));
        proxy.reset();
        proxy.failAfterApply('UpdateItem');
        expect(await store.fail(claim, T0 + 1, 'boom', reason)).toBe(true);
        expect(await stored(claim.pk)).toMatchObject({
          status: reason === undefined ? 'FAILED' : 'DEAD_LETTERED',
          owner: claim.owner,
          lastError: 'boom',
        });
      }
    });

    it('the fresh put over an expired record: acquired with the next fence, attempt 1', async () => {
      const pk = `wire#${randomUUID()}`;
      await store.complete(acquired(await store.claim(claimAt(pk, T0))), T0);
      const later = T0 + 3_600_000; // the record expired, and is still stored
      const request = claimAt(pk, later);
      proxy.reset();
      proxy.failAfterApply('PutItem');
      expect(await store.claim(request)).toEqual({
        kind: 'acquired',
        takeover: false,
        claim: { pk, owner: request.owner, fence: 2, attempt: 1 },
      });
      expect(proxy.log).toContain('PutItem!');
      expect(await stored(pk)).toMatchObject({
        status: 'IN_PROGRESS',
        owner: request.owner,
        fence: 2,
        attempts: 1,
      });
    });

    it('markDeadLettered: true, and the copy id is stored once', async () => {
      const claim = acquired(await store.claim(claimAt(`wire#${randomUUID()}`, T0)));
      await store.fail(claim, T0 + 1, 'bad', 'PERMANENT_ERROR');
      proxy.reset();
      proxy.failAfterApply('UpdateItem');
      expect(await store.markDeadLettered(claim.pk, 'copy-1', T0 + 2)).toBe(true);
      expect(proxy.log.slice(0, 2)).toEqual(['UpdateItem!', 'UpdateItem']);
      expect(await stored(claim.pk)).toMatchObject({ status: 'DEAD_LETTERED', deadLetterId: 'copy-1' });
    });

    it("someone else's record is still refused: a claim of a key held by another owner is in_progress", async () => {
      const pk = `wire#${randomUUID()}`;
      acquired(await store.claim(claimAt(pk, T0)));
      expect(await store.claim(claimAt(pk, T0 + 1))).toEqual({
        kind: 'in_progress',
        leaseExpiresAtMs: T0 + LEASE_MS,
      });
    });
  });
}

describeAmbiguousWrites('dynalite', async () => {
  const emulators = await startEmulators({ sqs: 0, dynamodb: 0 });
  return { url: emulators.dynamodbEndpoint, stop: () => emulators.stop() };
});

const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
if (endpoint) {
  describeAmbiguousWrites(endpoint, async () => ({ url: endpoint, stop: async () => undefined }));
}
