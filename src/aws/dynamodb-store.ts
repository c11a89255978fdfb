import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../core/errors.js';
import {
  isClaimable,
  isExpired,
  refusal,
  type Claim,
  type ClaimRequest,
  type ClaimResult,
  type IdempotencyRecord,
  type IdempotencyStore,
  type ListPage,
  type ListQuery,
  type RecordStatus,
} from '../core/idempotency-store.js';

type Item = Record<string, AttributeValue>;

/** Attribute names that are DynamoDB reserved words. */
const NAMES = { '#status': 'status', '#owner': 'owner' };

/**
 * IdempotencyStore on a DynamoDB table whose partition key is the string `pk`.
 *
 * The conditional write is the lock. Timeline of two workers racing for one key k:
 *
 *   worker A: claim(k) ── UpdateItem, condition "absent, or lapsed, or FAILED" ── ok, fence=1
 *   worker B: claim(k) ─────── same condition fails: ALL_OLD says IN_PROGRESS ── in_progress
 *   worker A: handler runs ...... renew(k, A) extends leaseExpiresAtMs ......
 *   worker A: complete(k, A) ─ condition "owner = A and IN_PROGRESS" ── ok, COMPLETED
 *   worker B: claim(k) (redelivery) ── condition fails: COMPLETED ── duplicate, message deleted
 *
 * If A stalls past its lease, B's claim succeeds (fence=2, owner=B) and A's complete/fail/renew
 * fail their owner condition: A learns it lost the lease instead of overwriting B's record.
 *
 * Calls per message: first delivery 2 (claim, complete); duplicate 1 (claim refused; plus a
 * consistent GetItem where the store ignores ALL_OLD, as dynalite does); handler failure 2
 * (claim, fail); takeover of a lapsed lease 2; an expired record still present 3 (claim refused,
 * fresh PutItem, complete). The store contract suite (test/helpers/store-contract.ts) asserts these
 * by counting the client's requests, on dynalite and on DynamoDB Local.
 */
export class DynamoDbIdempotencyStore implements IdempotencyStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    // A refused claim whose record then changes (deleted, expired, lapsed) is tried again; three
    // rounds are plenty, since each round is decided by the record that stood in the way.
    for (let round = 0; round < 3; round += 1) {
      const old = await this.#tryClaim(request);
      if ('kind' in old) return old;
      const record = old.record ?? (await this.get(request.pk, 0, true));
      if (record === undefined) continue;
      if (isExpired(record, request.now)) {
        const fresh = await this.#putFresh(request, record.fence);
        if (fresh) return fresh;
        continue;
      }
      if (isClaimable(record, request)) continue;
      return refusal(record, request);
    }
    throw new StoreUnavailableError(`claim of ${request.pk} kept racing with other writers`);
  }

  /** One conditional upsert; returns the result, or the record that refused it (if the store said). */
  async #tryClaim(request: ClaimRequest): Promise<ClaimResult | { record: IdempotencyRecord | undefined }> {
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: request.pk } },
          UpdateExpression:
            'SET #status = :inProgress, #owner = :owner, leaseExpiresAtMs = :lease, expiresAt = :exp, ' +
            'payloadHash = :hash, updatedAtMs = :now, firstSeenAtMs = if_not_exists(firstSeenAtMs, :now) ' +
            'ADD fence :one, attempts :one',
          ConditionExpression:
            'attribute_not_exists(pk) OR (expiresAt > :nowS AND payloadHash = :hash AND ' +
            '(#status = :failed OR (#status = :inProgress AND leaseExpiresAtMs <= :now)))',
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: {
            ':inProgress': { S: 'IN_PROGRESS' },
            ':failed': { S: 'FAILED' },
            ':owner': { S: request.owner },
            ':lease': num(request.leaseExpiresAtMs),
            ':exp': num(request.expiresAt),
            ':hash': { S: request.payloadHash },
            ':now': num(request.now),
            ':nowS': num(request.now / 1000),
            ':one': num(1),
          },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const previous = out.Attributes && 'pk' in out.Attributes ? fromItem(out.Attributes) : undefined;
      const fence = (previous?.fence ?? 0) + 1;
      const attempt = (previous?.attempts ?? 0) + 1;
      return {
        kind: 'acquired',
        claim: { pk: request.pk, owner: request.owner, fence, attempt },
        // Only a lapsed lease is taken over; a FAILED record was released by its owner (a retry).
        takeover: previous?.status === 'IN_PROGRESS',
      };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { record: error.Item && 'pk' in error.Item ? fromItem(error.Item) : undefined };
      }
      throw unavailable('claim', error);
    }
  }

  /** Replaces an expired record with a fresh claim, unless someone else replaced it first. */
  async #putFresh(request: ClaimRequest, oldFence: number): Promise<ClaimResult | undefined> {
    const fence = oldFence + 1;
    const record: IdempotencyRecord = {
      pk: request.pk,
      status: 'IN_PROGRESS',
      owner: request.owner,
      fence,
      leaseExpiresAtMs: request.leaseExpiresAtMs,
      expiresAt: request.expiresAt,
      attempts: 1,
      payloadHash: request.payloadHash,
      firstSeenAtMs: request.now,
      updatedAtMs: request.now,
    };
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: toItem(record),
          // "Still the expired record we read", not just "same fence": if TTL deleted it meanwhile
          // and another worker claimed the key afresh (fence 1 again), that live claim must refuse
          // us. Matching the fence alone let this put overwrite it, and both handlers ran.
          ConditionExpression: 'attribute_not_exists(pk) OR (fence = :oldFence AND expiresAt <= :nowS)',
          ExpressionAttributeValues: { ':oldFence': num(oldFence), ':nowS': num(request.now / 1000) },
        }),
      );
      return {
        kind: 'acquired',
        claim: { pk: request.pk, owner: request.owner, fence, attempt: 1 },
        takeover: false,
      };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw unavailable('claim', error);
    }
  }

  async renew(claim: Claim, leaseExpiresAtMs: number, now: number): Promise<boolean> {
    return this.#ifOwner('renew', claim, 'SET leaseExpiresAtMs = :lease, updatedAtMs = :now', {
      ':lease': num(leaseExpiresAtMs),
      ':now': num(now),
    });
  }

  async complete(claim: Claim, now: number, result?: string): Promise<boolean> {
    const values: Item = { ':completed': { S: 'COMPLETED' }, ':now': num(now) };
    let update = 'SET #status = :completed, updatedAtMs = :now, completedAtMs = :now';
    if (result !== undefined) {
      update += ', #result = :result';
      values[':result'] = { S: result };
    }
    return this.#ifOwner(
      'complete',
      claim,
      update,
      values,
      result === undefined ? {} : { '#result': 'result' },
    );
  }

  async fail(claim: Claim, now: number, error: string): Promise<boolean> {
    return this.#ifOwner(
      'fail',
      claim,
      'SET #status = :failedStatus, updatedAtMs = :now, lastError = :error',
      {
        ':failedStatus': { S: 'FAILED' },
        ':now': num(now),
        ':error': { S: error },
      },
    );
  }

  async #ifOwner(
    operation: string,
    claim: Claim,
    update: string,
    values: Item,
    names: Record<string, string> = {},
  ): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: claim.pk } },
          UpdateExpression: update,
          ConditionExpression: '#owner = :owner AND #status = :inProgress',
          ExpressionAttributeNames: { ...NAMES, ...names },
          ExpressionAttributeValues: {
            ...values,
            ':owner': { S: claim.owner },
            ':inProgress': { S: 'IN_PROGRESS' },
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw unavailable(operation, error);
    }
  }

  /** The live record; with includeExpired, whatever is stored (now is then ignored). */
  async get(pk: string, now: number, includeExpired = false): Promise<IdempotencyRecord | undefined> {
    try {
      const out = await this.#client.send(
        new GetItemCommand({ TableName: this.#table, Key: { pk: { S: pk } }, ConsistentRead: true }),
      );
      if (!out.Item) return undefined;
      const record = fromItem(out.Item);
      return includeExpired || !isExpired(record, now) ? record : undefined;
    } catch (error) {
      throw unavailable('get', error);
    }
  }

  async list(query: ListQuery): Promise<ListPage> {
    const filters = ['expiresAt > :nowS'];
    const values: Item = { ':nowS': num(query.now / 1000) };
    if (query.prefix !== undefined) {
      filters.push('begins_with(pk, :prefix)');
      values[':prefix'] = { S: query.prefix };
    }
    if (query.status !== undefined) {
      filters.push('#status = :status');
      values[':status'] = { S: query.status };
    }
    const records: IdempotencyRecord[] = [];
    let startKey: Item | undefined = query.cursor === undefined ? undefined : { pk: { S: query.cursor } };
    try {
      do {
        const out = await this.#client.send(
          new ScanCommand({
            TableName: this.#table,
            FilterExpression: filters.join(' AND '),
            ExpressionAttributeValues: values,
            ...(query.status === undefined ? {} : { ExpressionAttributeNames: { '#status': 'status' } }),
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
        );
        for (const item of out.Items ?? []) {
          records.push(fromItem(item));
          if (records.length === query.limit) {
            return { records, cursor: records[records.length - 1]?.pk as string };
          }
        }
        startKey = out.LastEvaluatedKey;
      } while (startKey !== undefined);
    } catch (error) {
      throw unavailable('list', error);
    }
    return { records };
  }

  async clear(prefix?: string): Promise<number> {
    let deleted = 0;
    let startKey: Item | undefined;
    try {
      do {
        const out = await this.#client.send(
          new ScanCommand({
            TableName: this.#table,
            ProjectionExpression: 'pk',
            ExclusiveStartKey: startKey,
            // As list() does: an eventually consistent scan can miss records written just before.
            ConsistentRead: true,
            ...(prefix === undefined
              ? {}
              : {
                  FilterExpression: 'begins_with(pk, :prefix)',
                  ExpressionAttributeValues: { ':prefix': { S: prefix } },
                }),
          }),
        );
        const keys = (out.Items ?? []).map((item) => ({ pk: item.pk as AttributeValue }));
        for (let i = 0; i < keys.length; i += 25) await this.#deleteBatch(keys.slice(i, i + 25));
        deleted += keys.length;
        startKey = out.LastEvaluatedKey;
      } while (startKey !== undefined);
    } catch (error) {
      throw unavailable('clear', error);
    }
    return deleted;
  }

  async #deleteBatch(keys: Item[]): Promise<void> {
    let pending = keys.map((Key) => ({ DeleteRequest: { Key } }));
    for (let round = 0; pending.length > 0; round += 1) {
      if (round === 10) throw new StoreUnavailableError('BatchWriteItem kept leaving items unprocessed');
      const out = await this.#client.send(
        new BatchWriteItemCommand({ RequestItems: { [this.#table]: pending } }),
      );
      pending = (out.UnprocessedItems?.[this.#table] ?? []).flatMap((r) =>
        r.DeleteRequest?.Key ? [{ DeleteRequest: { Key: r.DeleteRequest.Key } }] : [],
      );
    }
  }
}

function unavailable(operation: string, error: unknown): StoreUnavailableError {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new StoreUnavailableError(`idempotency store ${operation} failed: ${detail}`, { cause: error });
}

function num(value: number): AttributeValue {
  return { N: String(value) };
}

function toItem(record: IdempotencyRecord): Item {
  const item: Item = {
    pk: { S: record.pk },
    status: { S: record.status },
    owner: { S: record.owner },
    fence: num(record.fence),
    leaseExpiresAtMs: num(record.leaseExpiresAtMs),
    expiresAt: num(record.expiresAt),
    attempts: num(record.attempts),
    payloadHash: { S: record.payloadHash },
    firstSeenAtMs: num(record.firstSeenAtMs),
    updatedAtMs: num(record.updatedAtMs),
  };
  if (record.completedAtMs !== undefined) item.completedAtMs = num(record.completedAtMs);
  if (record.lastError !== undefined) item.lastError = { S: record.lastError };
  if (record.result !== undefined) item.result = { S: record.result };
  return item;
}

function fromItem(item: Item): IdempotencyRecord {
  const s = (name: string) => item[name]?.S;
  const n = (name: string) => (item[name]?.N === undefined ? undefined : Number(item[name]?.N));
  const completedAtMs = n('completedAtMs');
  const lastError = s('lastError');
  const result = s('result');
  return {
    pk: s('pk') ?? '',
    status: (s('status') ?? 'IN_PROGRESS') as RecordStatus,
    owner: s('owner') ?? '',
    fence: n('fence') ?? 0,
    leaseExpiresAtMs: n('leaseExpiresAtMs') ?? 0,
    expiresAt: n('expiresAt') ?? 0,
    attempts: n('attempts') ?? 0,
    payloadHash: s('payloadHash') ?? '',
    firstSeenAtMs: n('firstSeenAtMs') ?? 0,
    updatedAtMs: n('updatedAtMs') ?? 0,
    ...(completedAtMs === undefined ? {} : { completedAtMs }),
    ...(lastError === undefined ? {} : { lastError }),
    ...(result === undefined ? {} : { result }),
  };
}
