import { PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { StoreUnavailableError, describeError } from '../core/errors.js';
import {
  CorruptRecordError,
  MAX_COUNTER,
  PAYLOAD_HASH_VERSION,
  RECORD_FORMAT,
  parseRecord,
  type ClaimRequest,
  type IdempotencyRecord,
  type RecordStatus,
} from '../core/idempotency-store.js';

/**
 * How records look as DynamoDB items, and the claim's conditional write: what the store
 * (dynamodb-store.ts) sends and reads.
 */

export type Item = Record<string, AttributeValue>;

/** Attribute names that are DynamoDB reserved words, as renew, complete and fail spell them. */
export const OWNER_NAMES: Readonly<Record<string, string>> = { '#s': 'status', '#o': 'owner' };

/** The attribute that holds IdempotencyRecord.formatVersion: short, since every claim writes it. */
export const FORMAT_ATTRIBUTE = 'fv';

/**
 * The DynamoDB type of each attribute of a record ('?': optional; formatVersion is stored as
 * FORMAT_ATTRIBUTE). A claim's condition requires them (WELL_FORMED) so that it never builds on a
 * record it cannot read: without that, a FAILED record that lost its fence would be claimed with
 * `ADD fence :one` and fencing would restart at 1. Such a record fails the condition instead, is
 * read back, and the claim rejects with CorruptRecordError having written nothing.
 */
export const ATTRIBUTE_TYPES = {
  status: 'S',
  owner: 'S',
  fence: 'N',
  leaseExpiresAtMs: 'N',
  expiresAt: 'N',
  attempts: 'N',
  payloadHash: 'S',
  firstSeenAtMs: 'N',
  updatedAtMs: 'N',
  completedAtMs: 'N?',
  lastError: 'S?',
  result: 'S?',
  key: 'S?',
  deadLetterReason: 'S?',
  deadLetterId: 'S?',
  [FORMAT_ATTRIBUTE]: 'N?',
} as const satisfies Record<
  Exclude<keyof IdempotencyRecord, 'pk' | 'formatVersion'> | typeof FORMAT_ATTRIBUTE,
  'S' | 'N' | 'S?' | 'N?'
>;

export const WELL_FORMED = {
  condition: Object.entries(ATTRIBUTE_TYPES)
    .map(([name, type]) => {
      const check = `attribute_type(#${name}, :type${type[0]})`;
      return type.endsWith('?') ? `(attribute_not_exists(#${name}) OR ${check})` : check;
    })
    .join(' AND '),
  names: Object.fromEntries(Object.keys(ATTRIBUTE_TYPES).map((name) => [`#${name}`, name])),
  values: { ':typeS': { S: 'S' }, ':typeN': { S: 'N' } } satisfies Item,
};

/**
 * The counters a claim grows (ADD fence, attempts) must be in 1..MAX_COUNTER - 1 for the grown
 * value to stay in range: a well-typed but corrupt count (0, 1e30) refuses the claim, which
 * then rejects with CorruptRecordError having written nothing (before, it wrote, then threw, and
 * with 1e30 wrote again at every claim). A fractional count is the one corruption no condition can
 * see (DynamoDB has no integer test): it is still written, then rejected on reading.
 */
const COUNTERS_IN_RANGE =
  'fence >= :one AND fence < :maxCounter AND attempts >= :one AND attempts < :maxCounter';

/** The claim's conditional upsert: see the timeline in dynamodb-store.ts and WELL_FORMED. */
export function claimCommand(table: string, request: ClaimRequest): UpdateItemCommand {
  return new UpdateItemCommand({
    TableName: table,
    Key: { pk: { S: request.pk } },
    UpdateExpression:
      'SET #status = :inProgress, #owner = :owner, leaseExpiresAtMs = :lease, expiresAt = :exp, ' +
      'payloadHash = :hash, updatedAtMs = :now, firstSeenAtMs = if_not_exists(firstSeenAtMs, :now), ' +
      `#${FORMAT_ATTRIBUTE} = :format` +
      (request.key === undefined ? ' ' : ', #key = :key ') +
      'ADD fence :one, attempts :one',
    // A stored hash of an earlier version (no `v2:` prefix), or in a record of a newer format, is
    // not compared: see samePayload.
    ConditionExpression:
      `attribute_not_exists(pk) OR (${WELL_FORMED.condition} AND ${COUNTERS_IN_RANGE} AND expiresAt > :nowS AND ` +
      `(payloadHash = :hash OR NOT begins_with(payloadHash, :hashVersion) OR #${FORMAT_ATTRIBUTE} > :format) AND ` +
      '(#status = :failed OR (#status = :inProgress AND leaseExpiresAtMs <= :lapsed)))',
    ExpressionAttributeNames: WELL_FORMED.names,
    ExpressionAttributeValues: {
      ...WELL_FORMED.values,
      ':inProgress': status('IN_PROGRESS'),
      ':failed': status('FAILED'),
      ':owner': { S: request.owner },
      ':lease': num(request.leaseExpiresAtMs),
      ':exp': num(request.expiresAt),
      ':hash': { S: request.payloadHash },
      ':hashVersion': { S: PAYLOAD_HASH_VERSION },
      // A spread: DynamoDB rejects a value the expression does not use, and a map holds no undefined.
      ...(request.key === undefined ? {} : { ':key': { S: request.key } }),
      ':now': num(request.now),
      ':lapsed': num(request.lapsedBefore ?? request.now),
      ':nowS': num(request.now / 1000),
      ':one': num(1),
      ':format': num(RECORD_FORMAT),
      ':maxCounter': num(MAX_COUNTER),
    },
    ReturnValues: 'ALL_OLD',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
}

/**
 * The record a claim of an absent key leaves, as an item: what claimCommand writes when nothing is
 * stored, with the given fence (1 for a new key; the expired record's plus one for a fresh life).
 * Built by hand rather than with marshall: it is on every first delivery's path.
 */
export function freshItem(request: ClaimRequest, fence: number): Item {
  const item: Item = {
    pk: { S: request.pk },
    status: status('IN_PROGRESS'),
    owner: { S: request.owner },
    fence: num(fence),
    leaseExpiresAtMs: num(request.leaseExpiresAtMs),
    expiresAt: num(request.expiresAt),
    attempts: num(1),
    payloadHash: { S: request.payloadHash },
    firstSeenAtMs: num(request.now),
    updatedAtMs: num(request.now),
    [FORMAT_ATTRIBUTE]: num(RECORD_FORMAT),
  };
  if (request.key !== undefined) item.key = { S: request.key };
  return item;
}

/**
 * The short claim of a key that is most likely new (ClaimRequest.firstDelivery): the whole fresh
 * record, written only where no item is stored. About a quarter of claimCommand's size, since it
 * carries no WELL_FORMED check: it builds on nothing stored, so there is nothing to check. Refused,
 * it says what stands in the way (ALL_OLD), and the store goes on from that record.
 */
export function insertCommand(table: string, request: ClaimRequest): PutItemCommand {
  return new PutItemCommand({
    TableName: table,
    Item: freshItem(request, 1),
    ConditionExpression: 'attribute_not_exists(pk)',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
}

export function num(value: number): AttributeValue {
  return { N: String(value) };
}

export function status(value: RecordStatus): AttributeValue {
  return { S: value };
}

/** The record in an item the store returned, or undefined when it returned none. */
export function readItem(item: Item | undefined): IdempotencyRecord | undefined {
  return item && 'pk' in item ? fromItem(item) : undefined;
}

/** Throws CorruptRecordError for an item that is not a well-formed record. */
export function fromItem(item: Item): IdempotencyRecord {
  let plain: unknown;
  try {
    plain = unmarshall(item);
  } catch (error) {
    throw new CorruptRecordError(item.pk?.S ?? '(no pk)', [describeError(error)], { cause: error });
  }
  if (plain !== null && typeof plain === 'object' && FORMAT_ATTRIBUTE in plain) {
    const { [FORMAT_ATTRIBUTE]: formatVersion, ...rest } = plain as Record<string, unknown>;
    plain = { ...rest, formatVersion };
  }
  return parseRecord(plain);
}

/** The error of a store call that failed for another reason than its condition. */
export function unavailable(operation: string, error: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`idempotency store ${operation} failed: ${describeError(error)}`, {
    cause: error,
  });
}

/** An unconditional request: any failure means the store is unavailable. */
export async function call<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw unavailable(operation, error);
  }
}
