import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import {
  MAX_ERROR_LENGTH,
  MAX_RESULT_LENGTH,
  type Claim,
  type ClaimResult,
  type IdempotencyRecord,
  type IdempotencyStore,
  isExpired,
  namespacedPk,
} from './idempotency-store.js';

export interface IdempotencyOptions {
  readonly store: IdempotencyStore;
  readonly clock: Clock;
  /** Records are keyed by namespacedPk(namespace, key), so workers of different queues can share a table. */
  readonly namespace: string;
  /** Identifies this process in record owners (host name, pod name, ...). */
  readonly instanceId: string;
  readonly leaseMs: number;
  readonly retentionSeconds: number;
  /** How many recently completed keys to remember here (0: none); see CompletedKeyCache. */
  readonly cacheSize?: number;
}

/**
 * The idempotency rules on top of a store: namespacing, owner tokens, lease and retention
 * arithmetic, and bounding what is written.
 */
export class IdempotencyService {
  readonly #o: IdempotencyOptions;
  readonly #cache: CompletedKeyCache;

  constructor(options: IdempotencyOptions) {
    this.#o = options;
    this.#cache = new CompletedKeyCache(options.cacheSize ?? 0);
  }

  get namespace(): string {
    return this.#o.namespace;
  }

  pk(key: string): string {
    return namespacedPk(this.#o.namespace, key);
  }

  /**
   * A key completed recently by this process, with the same payload, answers duplicate without a
   * store call; anything else goes to the store, whose conditional write decides.
   */
  async claim(key: string, payloadHash: string): Promise<ClaimResult> {
    const now = this.#o.clock.now();
    const pk = this.pk(key);
    const cached = this.#cache.get(pk, payloadHash, now);
    if (cached) return { kind: 'duplicate', record: cached };
    const result = await this.#o.store.claim({
      pk,
      payloadHash,
      owner: `${this.#o.instanceId}:${randomUUID()}`,
      now,
      leaseExpiresAtMs: now + this.#o.leaseMs,
      expiresAt: Math.ceil(now / 1000) + this.#o.retentionSeconds,
    });
    if (result.kind === 'duplicate') this.#cache.add(result.record);
    return result;
  }

  async renew(claim: Claim): Promise<boolean> {
    const now = this.#o.clock.now();
    return this.#o.store.renew(claim, now + this.#o.leaseMs, now);
  }

  async complete(claim: Claim, result: unknown, payloadHash?: string): Promise<boolean> {
    const now = this.#o.clock.now();
    const summary = summarize(result);
    const kept = await this.#o.store.complete(claim, now, summary);
    if (kept && payloadHash !== undefined) {
      this.#cache.add({
        pk: claim.pk,
        status: 'COMPLETED',
        owner: claim.owner,
        fence: claim.fence,
        leaseExpiresAtMs: now,
        expiresAt: Math.ceil(now / 1000) + this.#o.retentionSeconds,
        attempts: claim.attempt,
        payloadHash,
        firstSeenAtMs: now,
        updatedAtMs: now,
        completedAtMs: now,
        ...(summary === undefined ? {} : { result: summary }),
      });
    }
    return kept;
  }

  async fail(claim: Claim, error: string): Promise<boolean> {
    return this.#o.store.fail(claim, this.#o.clock.now(), truncate(error, MAX_ERROR_LENGTH));
  }
}

/**
 * A bounded, least-recently-used memory of completed keys: hot duplicates (a producer's burst of
 * re-sends) cost no DynamoDB call. Safe because COMPLETED is final until the record expires, and
 * entries are dropped at their expiry. Only COMPLETED records are cached.
 */
export class CompletedKeyCache {
  readonly #entries = new Map<string, IdempotencyRecord>();

  constructor(readonly capacity: number) {}

  get(pk: string, payloadHash: string, now: number): IdempotencyRecord | undefined {
    const record = this.#entries.get(pk);
    if (!record) return undefined;
    if (isExpired(record, now)) {
      this.#entries.delete(pk);
      return undefined;
    }
    if (record.payloadHash !== payloadHash) return undefined;
    this.#entries.delete(pk);
    this.#entries.set(pk, record);
    return record;
  }

  add(record: IdempotencyRecord): void {
    if (this.capacity <= 0 || record.status !== 'COMPLETED') return;
    this.#entries.delete(record.pk);
    this.#entries.set(record.pk, record);
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** JSON of a handler's result when it is small enough to keep; otherwise nothing. */
function summarize(result: unknown): string | undefined {
  if (result === undefined || result === null) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(result);
  } catch {
    return undefined;
  }
  return text !== undefined && text.length <= MAX_RESULT_LENGTH ? text : undefined;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * SHA-256 over a canonical form of the body: JSON with object keys sorted (so `{"a":1,"b":2}` and
 * `{ "b": 2, "a": 1 }` hash alike), or the raw text when the body is not JSON.
 */
export function payloadHash(body: unknown): string {
  const canonical = typeof body === 'string' ? `s:${body}` : `j:${canonicalJson(body)}`;
  return createHash('sha256').update(canonical).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
