import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../core/errors.js';
import {
  CorruptRecordError,
  assertCanGrow,
  generationPk,
  isClaimable,
  isExpired,
  isOwnWrite,
  ownClaim,
  refusal,
  type Claim,
  type ClaimRequest,
  type ClaimResult,
  type IdempotencyRecord,
  type IdempotencyStore,
  type ListPage,
  type ListQuery,
  type OwnWrite,
  type RecordStore,
} from '../core/idempotency-store.js';
import {
  OWNER_NAMES,
  call,
  claimCommand,
  freshItem,
  insertCommand,
  num,
  readItem,
  status,
  unavailable,
  type Item,
} from './dynamodb-items.js';
import { clearRecords, forgetRecord, listRecords } from './dynamodb-records.js';

/**
 * IdempotencyStore and RecordStore on a DynamoDB table whose partition key is the string `pk`.
 *
 * The conditional write is the lock. Timeline of two workers racing for one key k, each on the
 * message's first receive (ClaimRequest.firstDelivery), so each tries the short claim first:
 *
 *   worker A: claim(k) ── PutItem of the fresh record, condition "absent" ── ok, fence=1
 *   worker B: claim(k) ─────── same condition fails: ALL_OLD says IN_PROGRESS ── in_progress
 *   worker A: handler runs ...... renew(k, A) extends leaseExpiresAtMs ......
 *   worker A: complete(k, A) ─ condition "owner = A and IN_PROGRESS" ── ok, COMPLETED
 *   worker B: claim(k) (redelivery) ── UpdateItem, condition "absent, or lapsed, or FAILED" (and
 *             well-formed, same payload) fails: COMPLETED ── duplicate, message deleted
 *
 * If A stalls past its lease, B's claim succeeds (fence=2, owner=B) and A's complete/fail/renew
 * fail their owner condition: A learns it lost the lease instead of overwriting B's record. The
 * short claim writes only where nothing is stored, so it never replaces a record, live or not:
 * whatever it finds is handled as the full claim would handle it, from the record it returned.
 *
 * An ambiguous answer: the write lands, the answer is lost (a 500, or later than the request
 * timeout), and the SDK (or the caller, with the same owner token) sends it again:
 *
 *   worker A: claim(k, owner a1) ── PutItem applied ──╳ 500 (A does not know)
 *   worker A: the same PutItem (SDK retry) ── condition "absent" fails: ALL_OLD is IN_PROGRESS,
 *             owner a1 ── our own write (ownClaim): acquired, fence=1, attempt=1
 *   worker A: handler runs ...... complete(k, a1) ── applied ──╳ 500
 *   worker A: the same UpdateItem ── "owner = a1 and IN_PROGRESS" fails: ALL_OLD is COMPLETED,
 *             owner a1 ── our own write (isOwnWrite): true, not lease_lost
 *
 * A refusal is ours only when the record carries this request's owner token and the state it was
 * writing; owner tokens are unique per delivery, so another worker's record never matches. Where
 * the store returns no ALL_OLD (dynalite) a consistent GetItem reads the record instead.
 *
 * Calls per message: a new key 2 (claim, complete; the short claim when the worker gives the
 * first-delivery hint, which it does on receive count 1); handler failure 2 (claim, fail);
 * duplicate, or a key in progress elsewhere, 1 (claim refused; plus a consistent GetItem where the
 * store ignores ALL_OLD, as dynalite does); retry of a FAILED key or takeover of a lapsed lease 2
 * (claim, complete), but 3 when met with the hint (short claim refused, full claim, complete; plus
 * the GetItem on dynalite); an expired record still present 3 (claim refused, fresh PutItem,
 * complete). A refused renew, complete or fail (lease lost, or an own write met again) 1, plus the
 * GetItem on dynalite. The store contract suite (test/helpers/store-contract.ts) asserts these by counting
 * the client's requests, with and without the hint, on dynalite and on DynamoDB Local.
 *
 * Every item read is checked (parseRecord): a malformed one rejects with CorruptRecordError.
 */
export class DynamoDbIdempotencyStore implements IdempotencyStore, RecordStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    // A refused claim whose record then changes (deleted, expired, lapsed) is tried again; three
    // rounds are plenty, since each round is decided by the record that stood in the way. With the
    // first-delivery hint, a short claim (insertCommand) comes first, in a round of its own.
    const insertFirst = request.firstDelivery === true;
    for (let round = insertFirst ? -1 : 0; round < 3; round += 1) {
      const old = round < 0 ? await this.#tryInsert(request) : await this.#tryClaim(request);
      if ('kind' in old) return old;
      const record = old.record ?? (await this.#read(request.pk));
      if (record === undefined) continue;
      if (isExpired(record, request.now)) {
        const fresh = await this.#putFresh(request, record.fence);
        if (fresh) return fresh;
        continue;
      }
      const own = ownClaim(record, request);
      if (own) {
        // Our own earlier attempt took it (applied, answered with an error): see OwnWrite.
        const held =
          !own.extend ||
          (await this.renew(own.claim, request.leaseExpiresAtMs, request.now, request.expiresAt));
        if (held) return { kind: 'acquired', claim: own.claim, takeover: false };
        continue;
      }
      if (isClaimable(record, request)) {
        // Refused though claimable: its counts cannot grow (the condition's range), or it changed.
        assertCanGrow(record);
        continue;
      }
      return refusal(record, request);
    }
    throw new StoreUnavailableError(`claim of ${request.pk} kept racing with other writers`);
  }

  /** The short claim: creates the record if none is stored; else the record in the way (if the store said). */
  async #tryInsert(request: ClaimRequest): Promise<ClaimResult | { record: IdempotencyRecord | undefined }> {
    try {
      await this.#client.send(insertCommand(this.#table, request));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { record: readItem(error.Item) };
      throw unavailable('claim', error);
    }
    return {
      kind: 'acquired',
      claim: { pk: request.pk, owner: request.owner, fence: 1, attempt: 1 },
      takeover: false,
    };
  }

  /** One conditional upsert; returns the result, or the record that refused it (if the store said). */
  async #tryClaim(request: ClaimRequest): Promise<ClaimResult | { record: IdempotencyRecord | undefined }> {
    let previous: Item | undefined;
    try {
      previous = (await this.#client.send(claimCommand(this.#table, request))).Attributes;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { record: readItem(error.Item) };
      throw unavailable('claim', error);
    }
    // The condition admitted only a well-typed record, so this throws only for values out of
    // range (a fence of 0, say): after the write, but still loudly.
    const old = readItem(previous);
    return {
      kind: 'acquired',
      claim: {
        pk: request.pk,
        owner: request.owner,
        fence: (old?.fence ?? 0) + 1,
        attempt: (old?.attempts ?? 0) + 1,
      },
      // Only a lapsed lease is taken over; a FAILED record was released by its owner (a retry).
      takeover: old?.status === 'IN_PROGRESS',
    };
  }

  /** Replaces an expired record with a fresh claim, unless someone else replaced it first. */
  async #putFresh(request: ClaimRequest, oldFence: number): Promise<ClaimResult | undefined> {
    const fence = oldFence + 1;
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: freshItem(request, fence),
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

  // renew, complete and fail go with every message: their placeholders are one letter, since every
  // byte is serialised, signed, sent and parsed each time. #s status, #o owner (reserved words),
  // #r result; :o the owner token, :p IN_PROGRESS, :n now, :e expiresAt, and one per value written.

  async renew(claim: Claim, leaseExpiresAtMs: number, now: number, expiresAt?: number): Promise<boolean> {
    const values: Item = { ':l': num(leaseExpiresAtMs), ':n': num(now) };
    let update = 'SET leaseExpiresAtMs = :l, updatedAtMs = :n';
    if (expiresAt !== undefined) {
      update += ', expiresAt = :e';
      values[':e'] = num(expiresAt);
    }
    return this.#ifOwner({ kind: 'renew', owner: claim.owner, leaseExpiresAtMs }, claim, update, values);
  }

  async complete(claim: Claim, now: number, result?: string, expiresAt?: number): Promise<boolean> {
    const values: Item = { ':c': status('COMPLETED'), ':n': num(now) };
    let update = 'SET #s = :c, updatedAtMs = :n, completedAtMs = :n';
    if (expiresAt !== undefined) {
      update += ', expiresAt = :e';
      values[':e'] = num(expiresAt);
    }
    const write: OwnWrite = { kind: 'complete', owner: claim.owner };
    if (result === undefined) return this.#ifOwner(write, claim, update, values);
    values[':r'] = { S: result };
    return this.#ifOwner(write, claim, `${update}, #r = :r`, values, WITH_RESULT);
  }

  async fail(claim: Claim, now: number, error: string, deadLetterReason?: string): Promise<boolean> {
    const write: OwnWrite = {
      kind: 'fail',
      owner: claim.owner,
      deadLettered: deadLetterReason !== undefined,
    };
    if (deadLetterReason === undefined) {
      const values = { ':f': status('FAILED'), ':n': num(now), ':x': { S: error } };
      return this.#ifOwner(write, claim, 'SET #s = :f, updatedAtMs = :n, lastError = :x', values);
    }
    const update = 'SET #s = :d, updatedAtMs = :n, lastError = :x, deadLetterReason = :y';
    const values = { ':d': DEAD_LETTERED, ':n': num(now), ':x': { S: error }, ':y': { S: deadLetterReason } };
    return this.#ifOwner(write, claim, update, values);
  }

  async markDeadLettered(pk: string, copyId: string, now: number): Promise<boolean> {
    const values = { ':i': { S: copyId }, ':n': num(now), ':nowS': num(now / 1000) };
    const update = 'SET deadLetterId = :i, updatedAtMs = :n';
    const unset = ' AND attribute_not_exists(deadLetterId)';
    const done = await this.#ifDeadLettered('markDeadLettered', pk, update, values, unset);
    if (done === true) return true;
    // Refused: true still when the copy's id is already there (our own write, or a retry of it).
    const record = await this.#refusedBy(pk, done.item);
    return (
      record !== undefined &&
      record.status === 'DEAD_LETTERED' &&
      record.deadLetterId === copyId &&
      !isExpired(record, now)
    );
  }

  async reopen(pk: string, now: number): Promise<boolean> {
    const values = { ':f': status('FAILED'), ':n': num(now), ':nowS': num(now / 1000) };
    const update = 'SET #s = :f, updatedAtMs = :n REMOVE deadLetterId';
    return (await this.#ifDeadLettered('reopen', pk, update, values, '')) === true;
  }

  /** The update, if the record is live and DEAD_LETTERED (and meets `extra`); else what refused it. */
  async #ifDeadLettered(
    operation: string,
    pk: string,
    update: string,
    values: Item,
    extra: string,
  ): Promise<true | { item: Item | undefined }> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: pk } },
          UpdateExpression: update,
          ConditionExpression: `#s = :d AND expiresAt > :nowS${extra}`,
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ...values, ':d': DEAD_LETTERED },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { item: error.Item };
      throw unavailable(operation, error);
    }
  }

  /**
   * The update, if the claim still holds: its owner token and IN_PROGRESS. Refused, it is still
   * a success when the record that refused it shows this very write applied (OwnWrite): from
   * ALL_OLD, or a consistent read where the store returns none.
   */
  async #ifOwner(
    write: OwnWrite,
    claim: Claim,
    update: string,
    values: Item,
    names: Record<string, string> = OWNER_NAMES,
  ): Promise<boolean> {
    values[':o'] = { S: claim.owner };
    values[':p'] = IN_PROGRESS;
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: claim.pk } },
          UpdateExpression: update,
          ConditionExpression: '#o = :o AND #s = :p',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw unavailable(write.kind, error);
      return isOwnWrite(await this.#refusedBy(claim.pk, error.Item), write);
    }
  }

  /**
   * The record that refused a conditional write: from ALL_OLD, else a consistent read. Undefined
   * when there is none or it cannot be read (a malformed record is nobody's own write).
   */
  async #refusedBy(pk: string, item: Item | undefined): Promise<IdempotencyRecord | undefined> {
    try {
      return item === undefined ? await this.#read(pk) : readItem(item);
    } catch (error) {
      if (error instanceof CorruptRecordError) return undefined;
      throw error;
    }
  }

  async get(pk: string, now: number): Promise<IdempotencyRecord | undefined> {
    const record = await this.#read(pk);
    return record && !isExpired(record, now) ? record : undefined;
  }

  /** Whatever is stored under pk, expired or not: one consistent GetItem. */
  async #read(pk: string): Promise<IdempotencyRecord | undefined> {
    const out = await call('get', () =>
      this.#client.send(
        new GetItemCommand({ TableName: this.#table, Key: { pk: { S: pk } }, ConsistentRead: true }),
      ),
    );
    return readItem(out.Item);
  }

  async generation(namespace: string): Promise<number> {
    const out = await call('generation', () =>
      this.#client.send(
        new GetItemCommand({
          TableName: this.#table,
          Key: { pk: { S: generationPk(namespace) } },
          ConsistentRead: true,
        }),
      ),
    );
    return Number(out.Item?.generation?.N ?? 0);
  }

  async bumpGeneration(namespace: string): Promise<number> {
    const out = await call('bumpGeneration', () =>
      this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: generationPk(namespace) } },
          UpdateExpression: 'ADD generation :one',
          ExpressionAttributeValues: { ':one': num(1) },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    return Number(out.Attributes?.generation?.N ?? 0);
  }

  list(query: ListQuery): Promise<ListPage> {
    return listRecords(this.#client, this.#table, query);
  }

  forget(pk: string): Promise<boolean> {
    return forgetRecord(this.#client, this.#table, pk);
  }

  /** Reads only the keys (and what tells a live claim): see clearRecords. */
  clear(
    prefix?: string,
    options?: { readonly force?: boolean; readonly now: number },
  ): Promise<{ deleted: number; skipped: number }> {
    return clearRecords(this.#client, this.#table, prefix, options);
  }
}

/** The names of a complete that keeps the handler's result (see the placeholders above renew). */
const WITH_RESULT: Readonly<Record<string, string>> = { ...OWNER_NAMES, '#r': 'result' };
const IN_PROGRESS = status('IN_PROGRESS');
const DEAD_LETTERED = status('DEAD_LETTERED');
