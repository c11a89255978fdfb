import { z } from 'zod';
import { WorkerError } from './errors.js';

/**
 * The persistence behind idempotency, as two interfaces: IdempotencyStore is the per-message hot
 * path (claim, renew, complete, fail) and RecordStore the operators' view of the records (get,
 * list, clear). Core code depends on these; the DynamoDB adapter (aws/dynamodb-store.ts) and the
 * in-memory store (testing/memory-store.ts) implement both, and one contract test suite runs against
 * all of them.
 *
 * Times are passed in by the caller (`now`, epoch milliseconds) so that tests control the clock.
 */

/** Every status a record can have, defined once: the type, the HTTP schema and the CLI use it. */
export const RECORD_STATUSES = ['IN_PROGRESS', 'COMPLETED', 'FAILED', 'DEAD_LETTERED'] as const;

export type RecordStatus = (typeof RECORD_STATUSES)[number];

export function isRecordStatus(value: string): value is RecordStatus {
  return (RECORD_STATUSES as readonly string[]).includes(value);
}

/** The record keys (record-keys.ts), part of the store's vocabulary. */
export {
  HASHED_KEY_PREFIX,
  MARKER_PREFIX,
  MAX_KEPT_KEY_LENGTH,
  MAX_PK_BYTES,
  generationPk,
  namespacePrefix,
  namespacedPk,
  recordKey,
} from './record-keys.js';

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
  /**
   * `v2:` and the hex SHA-256 of the body's canonical form (core/idempotency.ts payloadHash).
   * Records written before version 2 hold a bare hex hash of another form: see samePayload.
   */
  readonly payloadHash: string;
  /** Epoch milliseconds. */
  readonly firstSeenAtMs: number;
  /** Epoch milliseconds. */
  readonly updatedAtMs: number;
  /** Epoch milliseconds; set once COMPLETED. */
  readonly completedAtMs?: number | undefined;
  /** Last failure, at most MAX_ERROR_LENGTH characters. */
  readonly lastError?: string | undefined;
  /** Handler's summary, JSON text of at most MAX_RESULT_LENGTH characters. */
  readonly result?: string | undefined;
  /**
   * The key as sent, when pk holds its hash (a key too long for a record key, see recordKey);
   * at most MAX_KEPT_KEY_LENGTH characters.
   */
  readonly key?: string | undefined;
  /** Set with DEAD_LETTERED: the reason code (core/reasons.ts) it was dead-lettered with. */
  readonly deadLetterReason?: string | undefined;
  /** The MessageId the dead-letter queue gave the copy, once it accepted it (markDeadLettered). */
  readonly deadLetterId?: string | undefined;
  /** The record format this record was written in (absent: 1); see RECORD_FORMAT. */
  readonly formatVersion?: number | undefined;
}

/**
 * The record format this code writes (IdempotencyRecord.formatVersion; a record without one is
 * format 1). A reader that meets a newer format than it knows answers by status only: it never
 * compares payload hashes across formats (see samePayload), so a later change of the record can
 * roll out pod by pod while older pods still read what newer ones wrote.
 */
export const RECORD_FORMAT = 2;

export const MAX_ERROR_LENGTH = 1024;
export const MAX_RESULT_LENGTH = 4096;

export interface ClaimRequest {
  readonly pk: string;
  /** The key as sent, when pk holds its hash: stored in the record's `key` attribute. */
  readonly key?: string | undefined;
  readonly payloadHash: string;
  /** Unique per claim: the owner token. */
  readonly owner: string;
  readonly now: number;
  /** Epoch milliseconds at which this claim's lease lapses. */
  readonly leaseExpiresAtMs: number;
  /** Epoch seconds at which the record expires. */
  readonly expiresAt: number;
  /**
   * A live lease counts as lapsed when it ended at or before this time (epoch ms); default `now`.
   * The worker passes `now` minus its clock-skew margin (LEASE_CLOCK_SKEW), so a worker whose
   * clock runs ahead by less than the margin cannot take over a live lease.
   */
  readonly lapsedBefore?: number | undefined;
  /**
   * A hint, never a rule: the message is on its first receive, so the key is most likely new, and
   * a store may try a cheaper write first (one that only creates an absent record). The result is
   * the same with or without it; only the cost differs (see DynamoDbIdempotencyStore).
   */
  readonly firstDelivery?: boolean | undefined;
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
  | { readonly kind: 'payload_mismatch'; readonly record: IdempotencyRecord }
  /** Same payload, DEAD_LETTERED: final, never claimable (only `dlq redrive` reopens it). */
  | { readonly kind: 'dead_lettered'; readonly record: IdempotencyRecord };

export interface ListQuery {
  /** Only records whose pk starts with this. */
  readonly prefix?: string | undefined;
  readonly status?: RecordStatus | undefined;
  readonly limit: number;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string | undefined;
  readonly now: number;
}

export interface ListPage {
  readonly records: readonly IdempotencyRecord[];
  /** Present when there may be more records. */
  readonly cursor?: string | undefined;
}

/**
 * The per-message hot path: what the worker calls for every delivery. Each call is one
 * conditional write in the common case.
 */
export interface IdempotencyStore {
  /**
   * Takes the key when it is absent, expired, its lease has lapsed, or it last FAILED (and the
   * payload hash matches). Otherwise reports why not. Rejects with CorruptRecordError, writing
   * nothing, when the record in the way cannot be read as an IdempotencyRecord.
   */
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /**
   * Extends the lease, and the record's expiry to `expiresAt` (epoch s) when given, so a record
   * never expires under a live lease. false: the claim was lost (taken over, or not IN_PROGRESS).
   */
  renew(claim: Claim, leaseExpiresAtMs: number, now: number, expiresAt?: number): Promise<boolean>;
  /**
   * Marks the key COMPLETED, expiring at `expiresAt` (epoch s) when given: the retention counts
   * from completion. false: the claim was lost and nothing was written.
   */
  complete(claim: Claim, now: number, result?: string, expiresAt?: number): Promise<boolean>;
  /**
   * Marks the key FAILED (claimable again at once), or with `deadLetterReason` DEAD_LETTERED
   * (terminal: never claimable again; the reason is kept). false: the claim was lost.
   */
  fail(claim: Claim, now: number, error: string, deadLetterReason?: string): Promise<boolean>;
  /** Records that the DLQ accepted the copy (its MessageId) on a DEAD_LETTERED record; true also when it already holds copyId. */
  markDeadLettered(pk: string, copyId: string, now: number): Promise<boolean>;
  /** The namespace's records generation (0 when never bumped): one consistent read. */
  generation(namespace: string): Promise<number>;
}

/**
 * The records as operators see them (GET /records, `sqs-worker records`): reads and scans that
 * the hot path never needs. Reads reject with CorruptRecordError on a record they cannot read.
 */
export interface RecordStore {
  /** The live record, or undefined when absent or expired. */
  get(pk: string, now: number): Promise<IdempotencyRecord | undefined>;
  /** One page of live records, in an order the cursor follows. */
  list(query: ListQuery): Promise<ListPage>;
  /**
   * Deletes every record whose pk starts with prefix (all when omitted), malformed ones included,
   * except live claims: an IN_PROGRESS record whose lease has not lapsed at `options.now` is
   * skipped (its handler still runs) unless `options.force`. Without options nothing is skipped.
   * Returns how many were deleted and how many skipped; safe to run again.
   */
  clear(
    prefix?: string,
    options?: { readonly force?: boolean; readonly now: number },
  ): Promise<{ readonly deleted: number; readonly skipped: number }>;
  /** `dlq redrive`: a DEAD_LETTERED record becomes FAILED (claimable again), deadLetterId removed; false when it was not DEAD_LETTERED. */
  reopen(pk: string, now: number): Promise<boolean>;
  /**
   * Deletes the record stored under pk, whatever its state (malformed included), so the key can
   * be claimed again; returns whether there was one. Callers bump the generation around it, as
   * for clear, so that no worker's cache still answers for the key.
   */
  forget(pk: string): Promise<boolean>;
  /** Bumps the namespace's records generation (workers then drop their caches); returns the new one. */
  bumpGeneration(namespace: string): Promise<number>;
}

/** A stored record that is not an IdempotencyRecord: a fault to fix, never read as a default. */
export class CorruptRecordError extends WorkerError {
  readonly pk: string;
  /** What is wrong, one entry per attribute: `fence: expected number, received string`. */
  readonly problems: readonly string[];

  constructor(pk: string, problems: readonly string[], options?: { cause?: unknown }) {
    super('ERR_CORRUPT_RECORD', `idempotency record ${pk} is malformed: ${problems.join('; ')}`, options);
    this.pk = pk;
    this.problems = problems;
  }
}

/** Epoch times; not required to be whole, since the clock is injected. */
const time = z.number().nonnegative();
/**
 * The largest fence or attempt count a record may hold: one below Number.MAX_SAFE_INTEGER, so
 * every stored count is exact in JavaScript. A claim grows a count only while it is below this.
 */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER - 1;
const counter = z.number().int().positive().max(MAX_COUNTER);

const recordSchema = z.object({
  pk: z.string().min(1),
  status: z.enum(RECORD_STATUSES),
  owner: z.string().min(1),
  fence: counter,
  leaseExpiresAtMs: time,
  expiresAt: time,
  attempts: counter,
  payloadHash: z.string().min(1),
  firstSeenAtMs: time,
  updatedAtMs: time,
  completedAtMs: time.optional(),
  lastError: z.string().optional(),
  result: z.string().optional(),
  key: z.string().optional(),
  deadLetterReason: z.string().optional(),
  deadLetterId: z.string().optional(),
  formatVersion: counter.optional(),
}) satisfies z.ZodType<IdempotencyRecord>;

/**
 * A stored record, checked: attributes the record type does not name are dropped; anything
 * missing or of the wrong type or value throws CorruptRecordError naming pk and every problem.
 */
export function parseRecord(value: unknown): IdempotencyRecord {
  const parsed = recordSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const pk = (value as { pk?: unknown } | null)?.pk;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.map(String).join('.') || '(record)'}: ${issue.message}`,
  );
  throw new CorruptRecordError(typeof pk === 'string' ? pk : '(no pk)', problems, { cause: parsed.error });
}

/** Classifies a claim that was refused, given the record that stood in the way. */
export function refusal(
  record: IdempotencyRecord,
  request: Pick<ClaimRequest, 'payloadHash' | 'now'>,
): Exclude<ClaimResult, { kind: 'acquired' }> {
  if (!samePayload(record.payloadHash, request.payloadHash, record.formatVersion)) {
    return { kind: 'payload_mismatch', record };
  }
  if (record.status === 'COMPLETED') return { kind: 'duplicate', record };
  if (record.status === 'DEAD_LETTERED') return { kind: 'dead_lettered', record };
  return { kind: 'in_progress', leaseExpiresAtMs: record.leaseExpiresAtMs };
}

/**
 * Own writes. A write can be applied and still be answered with an error (a 500, or an answer
 * later than the request timeout); the retry (the SDK's, or the caller's with the same owner
 * token) then fails its own condition. The record that refused it (ALL_OLD, or a consistent read
 * where the store returns none) tells: when it carries this request's owner token and the state
 * the request was writing, the first attempt landed and the answer is a success. Owner tokens
 * are unique per delivery, so no other writer leaves a record that matches.
 */
export type OwnWrite =
  | { readonly kind: 'renew'; readonly owner: string; readonly leaseExpiresAtMs: number }
  | { readonly kind: 'complete'; readonly owner: string }
  | { readonly kind: 'fail'; readonly owner: string; readonly deadLettered: boolean };

/** True when `record` (what refused the write) shows that this write was applied: see OwnWrite. */
export function isOwnWrite(record: IdempotencyRecord | undefined, write: OwnWrite): boolean {
  if (record === undefined || record.owner !== write.owner) return false;
  switch (write.kind) {
    case 'renew':
      return record.status === 'IN_PROGRESS' && record.leaseExpiresAtMs >= write.leaseExpiresAtMs;
    case 'complete':
      return record.status === 'COMPLETED';
    case 'fail':
      return record.status === (write.deadLettered ? 'DEAD_LETTERED' : 'FAILED');
  }
}

/**
 * A refused claim that had in fact been taken by this very request (OwnWrite): the record is
 * IN_PROGRESS under the request's owner token. The claim is the stored one (its fence and
 * attempts). `extend` is true when the stored lease ends before the one asked for (a caller's
 * retry asks for a later lease than its first attempt wrote): the store must renew to it before
 * answering acquired. Whether the first attempt took over a lapsed lease is not known: takeover
 * is then reported false.
 */
export function ownClaim(
  record: IdempotencyRecord,
  request: Pick<ClaimRequest, 'owner' | 'leaseExpiresAtMs'>,
): { readonly claim: Claim; readonly extend: boolean } | undefined {
  if (record.owner !== request.owner || record.status !== 'IN_PROGRESS') return undefined;
  return {
    claim: { pk: record.pk, owner: record.owner, fence: record.fence, attempt: record.attempts },
    extend: record.leaseExpiresAtMs < request.leaseExpiresAtMs,
  };
}

/**
 * Throws CorruptRecordError when a claim could not grow the record's fence or attempts and stay
 * within MAX_COUNTER: such a record is refused by the claim's condition and must not be retried.
 */
export function assertCanGrow(record: Pick<IdempotencyRecord, 'pk' | 'fence' | 'attempts'>): void {
  const problems = (['fence', 'attempts'] as const)
    .filter((name) => record[name] >= MAX_COUNTER)
    .map((name) => `${name}: ${record[name]} cannot grow past ${MAX_COUNTER}`);
  if (problems.length > 0) throw new CorruptRecordError(record.pk, problems);
}

/** True when a record no longer counts: past its expiry, whether or not TTL has deleted it. */
export function isExpired(record: Pick<IdempotencyRecord, 'expiresAt'>, now: number): boolean {
  return record.expiresAt * 1000 <= now;
}

/**
 * True when a live record may be claimed by a request with this payload hash: FAILED, or
 * IN_PROGRESS with a lapsed lease. COMPLETED and DEAD_LETTERED are final (never claimable, lease
 * or not).
 */
export function isClaimable(
  record: IdempotencyRecord,
  request: Pick<ClaimRequest, 'payloadHash' | 'now' | 'lapsedBefore'>,
): boolean {
  if (!samePayload(record.payloadHash, request.payloadHash, record.formatVersion)) return false;
  if (record.status === 'FAILED') return true;
  return record.status === 'IN_PROGRESS' && record.leaseExpiresAtMs <= (request.lapsedBefore ?? request.now);
}

/** True when a live IN_PROGRESS claim excludes everyone else at `now` (its lease has not lapsed). */
export function isLiveClaim(
  record: Pick<IdempotencyRecord, 'status' | 'leaseExpiresAtMs'>,
  now: number,
): boolean {
  return record.status === 'IN_PROGRESS' && record.leaseExpiresAtMs > now;
}

/** The version prefix of payload hashes (see IdempotencyRecord.payloadHash). */
export const PAYLOAD_HASH_VERSION = 'v2:';

/**
 * True unless the stored hash and this delivery's hash are both of the current version and
 * differ. A hash written by an earlier version (no `v2:` prefix) hashed another form of the body,
 * so it is not compared: such a record still answers duplicate or in progress for its key, and is
 * never taken for a payload mismatch. Claiming it (FAILED, or a lapsed lease) writes the new hash.
 * Likewise a record of a newer format than RECORD_FORMAT (`storedFormat`) may hash otherwise: it
 * is answered by status only.
 */
export function samePayload(stored: string, incoming: string, storedFormat?: number): boolean {
  if (storedFormat !== undefined && storedFormat > RECORD_FORMAT) return true;
  return stored === incoming || !stored.startsWith(PAYLOAD_HASH_VERSION);
}
