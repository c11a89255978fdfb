import { StoreUnavailableError } from '../core/errors.js';
import {
  MAX_PK_BYTES,
  RECORD_FORMAT,
  isClaimable,
  isExpired,
  isLiveClaim,
  isOwnWrite,
  ownClaim,
  refusal,
  type OwnWrite,
  type Claim,
  type ClaimRequest,
  type ClaimResult,
  type IdempotencyRecord,
  type IdempotencyStore,
  type ListPage,
  type ListQuery,
  type RecordStore,
} from '../core/idempotency-store.js';

/**
 * An in-memory IdempotencyStore and RecordStore with the same semantics as the DynamoDB adapter.
 * For unit tests and for library users' tests; it holds nothing across processes, so never use it
 * in production. It only ever holds well-formed records, so it never throws CorruptRecordError.
 * A claim's firstDelivery hint changes nothing here: every claim costs one map lookup.
 */
export class MemoryIdempotencyStore implements IdempotencyStore, RecordStore {
  readonly #records = new Map<string, IdempotencyRecord>();
  readonly #generations = new Map<string, number>();
  /** Calls made, by operation: lets tests assert how many round trips a case costs. */
  readonly calls = {
    claim: 0,
    renew: 0,
    complete: 0,
    fail: 0,
    markDeadLettered: 0,
    generation: 0,
    get: 0,
    list: 0,
    clear: 0,
    forget: 0,
    reopen: 0,
    bumpGeneration: 0,
  };

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    this.calls.claim += 1;
    checkPk(request.pk);
    const old = this.#records.get(request.pk);
    const live = old && !isExpired(old, request.now) ? old : undefined;
    if (live && !isClaimable(live, request)) return this.#refused(live, request);
    const record: IdempotencyRecord = {
      pk: request.pk,
      status: 'IN_PROGRESS',
      owner: request.owner,
      fence: (old?.fence ?? 0) + 1,
      leaseExpiresAtMs: request.leaseExpiresAtMs,
      expiresAt: request.expiresAt,
      attempts: (live?.attempts ?? 0) + 1,
      payloadHash: request.payloadHash,
      firstSeenAtMs: live?.firstSeenAtMs ?? request.now,
      updatedAtMs: request.now,
      // Absent, not undefined: a record holds only the attributes DynamoDB's item would have.
      ...(live?.lastError === undefined ? {} : { lastError: live.lastError }),
      ...(live?.deadLetterReason === undefined ? {} : { deadLetterReason: live.deadLetterReason }),
      ...(request.key === undefined ? {} : { key: request.key }),
      formatVersion: RECORD_FORMAT,
    };
    this.#records.set(request.pk, record);
    return {
      kind: 'acquired',
      claim: { pk: record.pk, owner: record.owner, fence: record.fence, attempt: record.attempts },
      // Only a lapsed lease is taken over; a FAILED record was released by its owner (a retry).
      takeover: live?.status === 'IN_PROGRESS',
    };
  }

  /** A refused claim: this request's own earlier claim (see ownClaim), or the refusal. */
  #refused(record: IdempotencyRecord, request: ClaimRequest): ClaimResult {
    const own = ownClaim(record, request);
    if (!own) return refusal(record, request);
    if (own.extend) {
      this.#records.set(record.pk, {
        ...record,
        leaseExpiresAtMs: request.leaseExpiresAtMs,
        expiresAt: request.expiresAt,
        updatedAtMs: request.now,
      });
    }
    return { kind: 'acquired', claim: own.claim, takeover: false };
  }

  async renew(claim: Claim, leaseExpiresAtMs: number, now: number, expiresAt?: number): Promise<boolean> {
    this.calls.renew += 1;
    return this.#update(claim, { kind: 'renew', owner: claim.owner, leaseExpiresAtMs }, (r) => ({
      ...r,
      leaseExpiresAtMs,
      updatedAtMs: now,
      // Spread over the record: an undefined would erase the expiry it has.
      ...(expiresAt === undefined ? {} : { expiresAt }),
    }));
  }

  async complete(claim: Claim, now: number, result?: string, expiresAt?: number): Promise<boolean> {
    this.calls.complete += 1;
    return this.#update(claim, { kind: 'complete', owner: claim.owner }, (r) => ({
      ...r,
      status: 'COMPLETED',
      updatedAtMs: now,
      completedAtMs: now,
      // As in renew(), and a result only when there is one (DynamoDB's item has no empty attribute).
      ...(result === undefined ? {} : { result }),
      ...(expiresAt === undefined ? {} : { expiresAt }),
    }));
  }

  async fail(claim: Claim, now: number, error: string, deadLetterReason?: string): Promise<boolean> {
    this.calls.fail += 1;
    const write: OwnWrite = {
      kind: 'fail',
      owner: claim.owner,
      deadLettered: deadLetterReason !== undefined,
    };
    if (deadLetterReason === undefined) {
      return this.#update(claim, write, (r) => ({
        ...r,
        status: 'FAILED',
        updatedAtMs: now,
        lastError: error,
      }));
    }
    return this.#update(claim, write, (r) => ({
      ...r,
      status: 'DEAD_LETTERED',
      updatedAtMs: now,
      lastError: error,
      deadLetterReason,
    }));
  }

  async markDeadLettered(pk: string, copyId: string, now: number): Promise<boolean> {
    this.calls.markDeadLettered += 1;
    const record = this.#live(pk, now);
    if (record?.status !== 'DEAD_LETTERED') return false;
    if (record.deadLetterId !== undefined) return record.deadLetterId === copyId;
    this.#records.set(pk, { ...record, deadLetterId: copyId, updatedAtMs: now });
    return true;
  }

  async reopen(pk: string, now: number): Promise<boolean> {
    this.calls.reopen += 1;
    const record = this.#live(pk, now);
    if (record?.status !== 'DEAD_LETTERED') return false;
    const reopened: { -readonly [K in keyof IdempotencyRecord]: IdempotencyRecord[K] } = {
      ...record,
      status: 'FAILED',
      updatedAtMs: now,
    };
    delete reopened.deadLetterId;
    this.#records.set(pk, reopened);
    return true;
  }

  async get(pk: string, now: number): Promise<IdempotencyRecord | undefined> {
    this.calls.get += 1;
    checkPk(pk);
    const record = this.#records.get(pk);
    return record && !isExpired(record, now) ? record : undefined;
  }

  async list(query: ListQuery): Promise<ListPage> {
    this.calls.list += 1;
    const all = [...this.#records.values()]
      .filter((r) => !isExpired(r, query.now))
      .filter((r) => query.prefix === undefined || r.pk.startsWith(query.prefix))
      .filter((r) => query.status === undefined || r.status === query.status)
      // Code-unit order, the order of the `>` below: localeCompare orders case and punctuation
      // differently, and a cursor that disagrees with the sort skips or repeats records.
      .sort((a, b) => (a.pk < b.pk ? -1 : a.pk > b.pk ? 1 : 0));
    const start = query.cursor === undefined ? 0 : all.findIndex((r) => r.pk > (query.cursor as string));
    const from = start < 0 ? all.length : start;
    const records = all.slice(from, from + query.limit);
    const last = records.at(-1);
    return from + query.limit < all.length && last ? { records, cursor: last.pk } : { records };
  }

  async clear(
    prefix?: string,
    options?: { readonly force?: boolean; readonly now: number },
  ): Promise<{ deleted: number; skipped: number }> {
    this.calls.clear += 1;
    let deleted = 0;
    let skipped = 0;
    for (const [pk, record] of [...this.#records]) {
      if (prefix !== undefined && !pk.startsWith(prefix)) continue;
      if (
        options &&
        options.force !== true &&
        !isExpired(record, options.now) &&
        isLiveClaim(record, options.now)
      ) {
        skipped += 1;
      } else {
        this.#records.delete(pk);
        deleted += 1;
      }
    }
    return { deleted, skipped };
  }

  async forget(pk: string): Promise<boolean> {
    this.calls.forget += 1;
    return this.#records.delete(pk);
  }

  async generation(namespace: string): Promise<number> {
    this.calls.generation += 1;
    return this.#generations.get(namespace) ?? 0;
  }

  async bumpGeneration(namespace: string): Promise<number> {
    this.calls.bumpGeneration += 1;
    const next = (this.#generations.get(namespace) ?? 0) + 1;
    this.#generations.set(namespace, next);
    return next;
  }

  /** The record under pk unless absent or expired. */
  #live(pk: string, now: number): IdempotencyRecord | undefined {
    const record = this.#records.get(pk);
    return record && !isExpired(record, now) ? record : undefined;
  }

  /** The change, if the claim still holds (its owner, IN_PROGRESS); else whether `write` was applied already. */
  #update(claim: Claim, write: OwnWrite, change: (record: IdempotencyRecord) => IdempotencyRecord): boolean {
    const record = this.#records.get(claim.pk);
    if (!record || record.owner !== claim.owner || record.status !== 'IN_PROGRESS') {
      return isOwnWrite(record, write);
    }
    this.#records.set(claim.pk, change(record));
    return true;
  }
}

/** DynamoDB refuses a partition key over 2,048 bytes (ValidationException); so does this twin. */
function checkPk(pk: string): void {
  if (Buffer.byteLength(pk, 'utf8') > MAX_PK_BYTES) {
    throw new StoreUnavailableError(
      `ValidationException: the record key ${pk.slice(0, 40)}… is over ${MAX_PK_BYTES} bytes`,
    );
  }
}
