import { isExpired, samePayload, type IdempotencyRecord } from './idempotency-store.js';

/** How often, at most, a worker re-reads the records generation while it answers from its cache. */
export const CACHE_CHECK_MS = 1000;

/**
 * How long `records clear` and `forget` wait after bumping the generation before they go on: by
 * then every worker has re-read it (within two checks) or stopped answering from its cache.
 */
export function cacheQuietMs(skewMs: number): number {
  return 2 * CACHE_CHECK_MS + skewMs;
}

/**
 * A bounded, least-recently-used memory of completed keys: hot duplicates (a producer's burst of
 * re-sends) cost no DynamoDB call. It can neither outlive nor contradict the store:
 * - an entry expires with its record (the retention counts from completion in both);
 * - it answers only while its view of the namespace's records generation is fresh (read at most
 *   every CACHE_CHECK_MS, lazily, and trusted for two of those), and it empties when the generation
 *   changes: `records clear` and `forget` bump it, wait cacheQuietMs(), delete, bump and wait again;
 *   that freshness is measured on the monotonic clock, so a wall clock stepped back cannot keep an
 *   old read looking fresh (expiry, a stored time, stays on the wall clock);
 * - a completion is remembered only if the generation did not change since its claim began.
 */
export class CompletedKeyCache {
  readonly capacity: number;
  readonly #entries = new Map<string, IdempotencyRecord>();
  readonly #readGeneration: () => Promise<number>;
  readonly #monotonic: () => number;
  #generation: number | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #checking = false;

  /** `monotonic`: Clock.monotonic, for the freshness of the generation read. */
  constructor(capacity: number, readGeneration: () => Promise<number>, monotonic: () => number) {
    this.capacity = capacity;
    this.#readGeneration = readGeneration;
    this.#monotonic = monotonic;
  }

  /** The generation this cache knows now: pass it back to add() when the delivery completes. */
  get generation(): number | undefined {
    return this.#generation;
  }

  /** `now`: wall time (epoch ms), against the record's expiry. */
  get(pk: string, payloadHash: string, now: number): IdempotencyRecord | undefined {
    if (this.capacity <= 0 || !this.#fresh(this.#monotonic())) return undefined;
    const record = this.#entries.get(pk);
    if (!record) return undefined;
    if (isExpired(record, now)) {
      this.#entries.delete(pk);
      return undefined;
    }
    if (!samePayload(record.payloadHash, payloadHash)) return undefined;
    this.#entries.delete(pk);
    this.#entries.set(pk, record);
    return record;
  }

  /** Remembers a COMPLETED record, unless the generation changed since `generation` was read. */
  add(record: IdempotencyRecord, generation: number | undefined): void {
    if (this.capacity <= 0 || record.status !== 'COMPLETED') return;
    if (generation === undefined || generation !== this.#generation) return;
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

  /** True while the last generation read started less than two checks ago; starts a read when due. */
  #fresh(mono: number): boolean {
    if (mono - this.#checkedAt >= CACHE_CHECK_MS) void this.#check(mono);
    return mono - this.#checkedAt < 2 * CACHE_CHECK_MS;
  }

  async #check(startedAt: number): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const generation = await this.#readGeneration();
      if (generation !== this.#generation) {
        this.#entries.clear();
        this.#generation = generation;
      }
      this.#checkedAt = startedAt;
    } catch {
      // Unreadable: the cache goes stale and stops answering; claims go to the store.
    } finally {
      this.#checking = false;
    }
  }
}

export interface ClearOptions {
  /** cacheQuietMs() of the workers' skew margin. */
  readonly quietMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * Deletes records (`clear(prefix)`) so that, once this resolves, no worker answers "duplicate" for
 * them from its cache: bump the generation and wait until every worker has re-read it, delete,
 * then bump and wait once more (for completions remembered while the deletion ran).
 */
export async function clearWithCaches<T>(
  bump: () => Promise<number>,
  clear: () => Promise<T>,
  options: ClearOptions,
): Promise<T> {
  await bump();
  await options.sleep(options.quietMs);
  const result = await clear();
  await bump();
  await options.sleep(options.quietMs);
  return result;
}
