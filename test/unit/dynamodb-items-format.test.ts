import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  ATTRIBUTE_TYPES,
  FORMAT_ATTRIBUTE,
  call,
  claimCommand,
  freshItem,
  fromItem,
  insertCommand,
  readItem,
  unavailable,
} from '../../src/aws/dynamodb-items.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import {
  CorruptRecordError,
  MAX_COUNTER,
  RECORD_FORMAT,
  type ClaimRequest,
} from '../../src/core/idempotency-store.js';

/** What the DynamoDB store sends and reads, checked item by item (the wire tests run them for real). */
const NOW = 1_750_000_000_000;
const request: ClaimRequest = {
  pk: 'q#k',
  payloadHash: 'v2:abc',
  owner: 'w:1',
  now: NOW,
  leaseExpiresAtMs: NOW + 30_000,
  expiresAt: NOW / 1000 + 3600,
};

describe('the items a claim writes', () => {
  it('a fresh record carries the format version, fence and one attempt', () => {
    expect(FORMAT_ATTRIBUTE).toBe('fv');
    expect(freshItem(request, 4)).toEqual({
      pk: { S: 'q#k' },
      status: { S: 'IN_PROGRESS' },
      owner: { S: 'w:1' },
      fence: { N: '4' },
      leaseExpiresAtMs: { N: String(NOW + 30_000) },
      expiresAt: { N: String(NOW / 1000 + 3600) },
      attempts: { N: '1' },
      payloadHash: { S: 'v2:abc' },
      firstSeenAtMs: { N: String(NOW) },
      updatedAtMs: { N: String(NOW) },
      fv: { N: '2' },
    });
    expect(freshItem({ ...request, key: 'long' }, 1).key).toEqual({ S: 'long' });
  });

  it('the short claim puts fence 1 only where nothing is stored, and asks for ALL_OLD', () => {
    const input = insertCommand('t', request).input;
    expect(input).toMatchObject({
      TableName: 't',
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(input.Item?.fence).toEqual({ N: '1' });
    expect(input.Item?.fv).toEqual({ N: String(RECORD_FORMAT) });
  });

  it('the full claim writes the format, refuses counters out of range, and skips hashes of newer formats', () => {
    const input = claimCommand('t', request).input;
    expect(input.UpdateExpression).toContain('#fv = :format');
    expect(input.ExpressionAttributeNames?.['#fv']).toBe('fv');
    expect(input.ExpressionAttributeValues?.[':format']).toEqual({ N: '2' });
    expect(input.ExpressionAttributeValues?.[':maxCounter']).toEqual({ N: String(MAX_COUNTER) });
    expect(input.ExpressionAttributeValues?.[':one']).toEqual({ N: '1' });
    expect(input.ConditionExpression).toContain(
      'fence >= :one AND fence < :maxCounter AND attempts >= :one AND attempts < :maxCounter',
    );
    expect(input.ConditionExpression).toContain('OR #fv > :format)');
    expect(input.ConditionExpression).toContain('(attribute_not_exists(#fv) OR attribute_type(#fv, :typeN))');
    expect(input.ConditionExpression).toContain(
      '(attribute_not_exists(#deadLetterId) OR attribute_type(#deadLetterId, :typeS))',
    );
    expect(input.ReturnValues).toBe('ALL_OLD');
    expect(input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
  });

  it('type-checks every attribute of a record', () => {
    expect(Object.keys(ATTRIBUTE_TYPES)).toHaveLength(16);
    expect(ATTRIBUTE_TYPES).toMatchObject({ deadLetterReason: 'S?', deadLetterId: 'S?', fv: 'N?' });
  });
});

describe('reading items', () => {
  const item = freshItem(request, 2);

  it('reads fv as formatVersion, and an item without fv as a record without one', () => {
    expect(fromItem(item)).toStrictEqual({
      pk: 'q#k',
      status: 'IN_PROGRESS',
      owner: 'w:1',
      fence: 2,
      leaseExpiresAtMs: NOW + 30_000,
      expiresAt: NOW / 1000 + 3600,
      attempts: 1,
      payloadHash: 'v2:abc',
      firstSeenAtMs: NOW,
      updatedAtMs: NOW,
      formatVersion: 2,
    });
    const legacy = { ...item };
    delete legacy.fv;
    expect(Object.keys(fromItem(legacy))).not.toContain('formatVersion');
    expect(fromItem({ ...item, status: { S: 'DEAD_LETTERED' }, deadLetterReason: { S: 'R' } })).toMatchObject(
      {
        status: 'DEAD_LETTERED',
        deadLetterReason: 'R',
      },
    );
  });

  it('rejects a corrupt item naming the attribute, and reads no item as no record', () => {
    expect(() => fromItem({ ...item, fv: { S: '2' } })).toThrow(CorruptRecordError);
    expect(() => fromItem({ ...item, fence: { N: '0' } })).toThrow(/fence: /);
    expect(readItem(undefined)).toBeUndefined();
    expect(readItem({})).toBeUndefined();
    expect(readItem(item)).toMatchObject({ fence: 2 });
  });
});

describe('store errors', () => {
  it('wraps a failed call as StoreUnavailableError naming the operation, with the cause', async () => {
    const cause = new Error('socket hang up');
    const error = unavailable('claim', cause);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toBe('idempotency store claim failed: Error: socket hang up');
    expect(error.cause).toBe(cause);
    await expect(call('get', async () => 7)).resolves.toBe(7);
    const refused = new ConditionalCheckFailedException({ message: 'no', $metadata: {} });
    await expect(
      call('list', async () => {
        throw refused;
      }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/^idempotency store list failed: /),
      cause: refused,
    });
  });
});
