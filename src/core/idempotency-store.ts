/**
 * The persistence behind idempotency, as an interface: core code depends on this, the DynamoDB
 * adapter (aws/dynamodb-store.ts) and the in-memory store (core/memory-store.ts) implement it,
 * and one contract test suite runs against all of them.
 *
 * Times are passed in by the caller (`now`, epoch milliseconds) so that tests control the clock.
 */

export type RecordStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

export interface IdempotencyRecord {
  /** Partition key: `<namespace>#<key>`. */
  readonly pk: string;
  readonly status: RecordStatus;
  /** `<worker instance id>:<random claim token>` of the latest claim. */
  readonly owner: string;
  /** Grows by one with every successful claim of this key. */
  readonly fence: number;
  /** Epoch milliseconds: until then the owner's claim excludes everyone else. */
  readonly leaseExpiresAtMs: number;
  /** Epoch seconds: the DynamoDB TTL attribute. After it, the record counts as absent. */
  readonly expiresAt: number;
  /** Number of claims taken on this key (1 on the first delivery). */
  readonly attempts: number;
  /** Hex SHA-256 of the canonical message body. */
  readonly payloadHash: string;
  /** Epoch milliseconds. */
  readonly firstSeenAtMs: number;
  /** Epoch milliseconds. */
  readonly updatedAtMs: number;
  /** Epoch milliseconds; set once COMPLETED. */
  readonly completedAtMs?: number;
  /** Last failure, at most MAX_ERROR_LENGTH characters. */
  readonly lastError?: string;
  /** Handler's summary, JSON text of at most MAX_RESULT_LENGTH characters. */
  readonly result?: string;
}

export const MAX_ERROR_LENGTH = 1024;
export const MAX_RESULT_LENGTH = 4096;

export interface ClaimRequest {
  readonly pk: string;
  readonly payloadHash: string;
  /** Unique per claim: the owner token. */
  readonly owner: string;
  readonly now: number;
  /** Epoch milliseconds at which this claim's lease lapses. */
  readonly leaseExpiresAtMs: number;
  /** Epoch seconds at which the record expires. */
  readonly expiresAt: number;
}

/** Proof of a claim: what complete, fail and renew are conditional on. */
export interface Claim {
  readonly pk: string;
  readonly owner: string;
  readonly fence: number;
  readonly attempt: number;
}

export type ClaimResult =
  | {
      readonly kind: 'acquired';
      readonly claim: Claim;
      /**
       * True only when a live IN_PROGRESS claim whose lease had lapsed was taken over (a worker
       * stalled or died); false for a fresh key and for the retry of a FAILED one.
       */
      readonly takeover: boolean;
    }
  | { readonly kind: 'duplicate'; readonly record: IdempotencyRecord }
  | { readonly kind: 'in_progress'; readonly leaseExpiresAtMs: number }
  | { readonly kind: 'payload_mismatch'; readonly record: IdempotencyRecord };

export interface ListQuery {
  /** Only records whose pk starts with this. */
  readonly prefix?: string;
  readonly status?: RecordStatus;
  readonly limit: number;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string;
  readonly now: number;
}

export interface ListPage {
  readonly records: readonly IdempotencyRecord[];
  /** Present when there may be more records. */
  readonly cursor?: string;
}

export interface IdempotencyStore {
  /**
   * Takes the key when it is absent, expired, its lease has lapsed, or it last FAILED (and the
   * payload hash matches). Otherwise reports why not. One conditional write in the common case.
   */
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Extends the lease. false: the claim was lost (taken over, or no longer IN_PROGRESS). */
  renew(claim: Claim, leaseExpiresAtMs: number, now: number): Promise<boolean>;
  /** Marks the key COMPLETED. false: the claim was lost and nothing was written. */
  complete(claim: Claim, now: number, result?: string): Promise<boolean>;
  /** Marks the key FAILED (claimable again at once). false: the claim was lost. */
  fail(claim: Claim, now: number, error: string): Promise<boolean>;
  /** The live record, or undefined when absent or expired. */
  get(pk: string, now: number): Promise<IdempotencyRecord | undefined>;
  list(query: ListQuery): Promise<ListPage>;
  /** Deletes every record whose pk starts with prefix (all when omitted); returns how many. */
  clear(prefix?: string): Promise<number>;
}

/** Classifies a claim that was refused, given the record that stood in the way. */
export function refusal(
  record: IdempotencyRecord,
  request: Pick<ClaimRequest, 'payloadHash' | 'now'>,
): Exclude<ClaimResult, { kind: 'acquired' }> {
  if (record.payloadHash !== request.payloadHash) return { kind: 'payload_mismatch', record };
  if (record.status === 'COMPLETED') return { kind: 'duplicate', record };
  return { kind: 'in_progress', leaseExpiresAtMs: record.leaseExpiresAtMs };
}

/** True when a record no longer counts: past its expiry, whether or not TTL has deleted it. */
export function isExpired(record: Pick<IdempotencyRecord, 'expiresAt'>, now: number): boolean {
  return record.expiresAt * 1000 <= now;
}

/** True when a live record may be claimed by a request with this payload hash. */
export function isClaimable(record: IdempotencyRecord, request: Pick<ClaimRequest, 'payloadHash' | 'now'>) {
  if (record.payloadHash !== request.payloadHash) return false;
  if (record.status === 'FAILED') return true;
  return record.status === 'IN_PROGRESS' && record.leaseExpiresAtMs <= request.now;
}
