import {
  OWNER_NAMES,
  WELL_FORMED,
  claimCommand,
  freshItem,
  fromItem,
  insertCommand,
  num,
  readItem,
  status,
  type Item,
} from '../../src/aws/dynamodb-items.js';
import { CorruptRecordError, type ClaimRequest } from '../../src/core/idempotency-store.js';

/**
 * The items and commands the DynamoDB store builds (aws/dynamodb-items.ts), with literal values.
 * What the claim's condition expression admits is decided by DynamoDB: see
 * test/integration/dynamodb-claim.test.ts, which sends these commands to dynalite.
 */

const request: ClaimRequest = {
  pk: 'q#k',
  payloadHash: 'v2:aaaa',
  owner: 'w1:t1',
  now: 1_000_500,
  leaseExpiresAtMs: 1_030_500,
  expiresAt: 4_600,
};

/** The record a claim of an absent key leaves, as an item, spelled out. */
const FRESH: Item = {
  pk: { S: 'q#k' },
  status: { S: 'IN_PROGRESS' },
  owner: { S: 'w1:t1' },
  fence: { N: '1' },
  leaseExpiresAtMs: { N: '1030500' },
  expiresAt: { N: '4600' },
  attempts: { N: '1' },
  payloadHash: { S: 'v2:aaaa' },
  firstSeenAtMs: { N: '1000500' },
  updatedAtMs: { N: '1000500' },
  fv: { N: '2' },
};

describe('item builders', () => {
  it('freshItem: the whole IN_PROGRESS record, with the given fence and the key only when hashed', () => {
    expect(freshItem(request, 1)).toEqual(FRESH);
    expect(freshItem({ ...request, key: 'long key' }, 7)).toEqual({
      ...FRESH,
      fence: { N: '7' },
      key: { S: 'long key' },
    });
    expect(num(0.25)).toEqual({ N: '0.25' });
    expect(status('FAILED')).toEqual({ S: 'FAILED' });
    expect(OWNER_NAMES).toEqual({ '#s': 'status', '#o': 'owner' });
  });

  it('insertCommand: the fresh record, only where no item is stored, the old one returned if refused', () => {
    expect(insertCommand('t', request).input).toEqual({
      TableName: 't',
      Item: FRESH,
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('claimCommand: returns the old item either way, and measures lapses against lapsedBefore', () => {
    const { input } = claimCommand('t', { ...request, lapsedBefore: 999_000 });
    expect(input).toMatchObject({
      TableName: 't',
      Key: { pk: { S: 'q#k' } },
      ReturnValues: 'ALL_OLD',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(input.ExpressionAttributeValues).toMatchObject({
      ':lapsed': { N: '999000' },
      ':now': { N: '1000500' },
      ':nowS': { N: '1000.5' },
      ':one': { N: '1' },
      ':hashVersion': { S: 'v2:' },
      ':inProgress': { S: 'IN_PROGRESS' },
      ':failed': { S: 'FAILED' },
    });
    expect(input.ExpressionAttributeValues).not.toHaveProperty([':key']);
    expect(claimCommand('t', request).input.ExpressionAttributeValues?.[':lapsed']).toEqual({ N: '1000500' });
  });

  it('WELL_FORMED requires each attribute of a record with its type, the optional ones when present', () => {
    expect(WELL_FORMED.condition.split(' AND ')).toEqual([
      'attribute_type(#status, :typeS)',
      'attribute_type(#owner, :typeS)',
      'attribute_type(#fence, :typeN)',
      'attribute_type(#leaseExpiresAtMs, :typeN)',
      'attribute_type(#expiresAt, :typeN)',
      'attribute_type(#attempts, :typeN)',
      'attribute_type(#payloadHash, :typeS)',
      'attribute_type(#firstSeenAtMs, :typeN)',
      'attribute_type(#updatedAtMs, :typeN)',
      '(attribute_not_exists(#completedAtMs) OR attribute_type(#completedAtMs, :typeN))',
      '(attribute_not_exists(#lastError) OR attribute_type(#lastError, :typeS))',
      '(attribute_not_exists(#result) OR attribute_type(#result, :typeS))',
      '(attribute_not_exists(#key) OR attribute_type(#key, :typeS))',
      '(attribute_not_exists(#deadLetterReason) OR attribute_type(#deadLetterReason, :typeS))',
      '(attribute_not_exists(#deadLetterId) OR attribute_type(#deadLetterId, :typeS))',
      '(attribute_not_exists(#fv) OR attribute_type(#fv, :typeN))',
    ]);
    expect(WELL_FORMED.names).toMatchObject({ '#status': 'status', '#key': 'key', '#fence': 'fence' });
    expect(Object.keys(WELL_FORMED.names)).toHaveLength(16);
    expect(WELL_FORMED.values).toEqual({ ':typeS': { S: 'S' }, ':typeN': { S: 'N' } });
  });
});

describe('reading items', () => {
  it('readItem: the record, or undefined when the store returned no item or an empty one', () => {
    expect(readItem(FRESH)).toMatchObject({ pk: 'q#k', status: 'IN_PROGRESS', fence: 1, expiresAt: 4600 });
    expect(readItem(undefined)).toBeUndefined();
    expect(readItem({})).toBeUndefined();
  });

  it('fromItem: an item that is no record, or not even DynamoDB JSON, is a CorruptRecordError', () => {
    const notARecord = () => fromItem({ ...FRESH, fence: { S: 'one' } });
    expect(notARecord).toThrow(CorruptRecordError);
    expect(notARecord).toThrow(/^idempotency record q#k is malformed: fence: /);
    const undecodable = { pk: { S: 'q#x' }, fence: {} } as unknown as Item;
    expect(() => fromItem(undecodable)).toThrow(/^idempotency record q#x is malformed: /);
    const error = (() => {
      try {
        fromItem(undecodable);
      } catch (thrown) {
        return thrown as CorruptRecordError;
      }
      throw new Error('decoded without complaint');
    })();
    expect(error.problems).toEqual([expect.stringMatching(/.+/)]);
    expect(error.cause).toBeInstanceOf(Error);
    const noPk = { fence: { Q: '1' } } as unknown as Item;
    expect(() => fromItem(noPk)).toThrow(/^idempotency record \(no pk\) is malformed: /);
  });
});
