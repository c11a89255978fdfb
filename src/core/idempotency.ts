import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { CompletedKeyCache } from './completed-cache.js';
import { canonicalJson } from './canonical-json.js';
import {
  MAX_ERROR_LENGTH,
  MAX_KEPT_KEY_LENGTH,
  MAX_RESULT_LENGTH,
  PAYLOAD_HASH_VERSION,
  type Claim,
  type ClaimResult,
  type IdempotencyStore,
  recordKey,
} from './idempotency-store.js';
import { reason, type Reason } from './reasons.js';

export interface IdempotencyOptions {
  readonly store: IdempotencyStore;
  readonly clock: Clock;
  /** Records are keyed by recordKey(namespace, key), so workers of different queues can share a table. */
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
  /** The records generation each live claim began under (by owner token): see CompletedKeyCache. */
  readonly #generations = new Map<string, number | undefined>();

  constructor(options: IdempotencyOptions) {
    this.#o = options;
    this.#cache = new CompletedKeyCache(
      options.cacheSize ?? 0,
      () => options.store.generation(options.namespace),
      () => options.clock.monotonic(),
    );
  }

  get namespace(): string {
    return this.#o.namespace;
  }

  pk(key: string): string {
    return recordKey(this.#o.namespace, key).pk;
  }

  /**
   * A new owner token, `<instanceId>:<random UUID>`: unique per delivery. A caller that retries
   * one delivery's claim passes the same token each time (claim's `owner`), so that the store
   * recognises its own earlier write (answered with an error, yet applied) as this claim's.
   */
  ownerToken(): string {
    return `${this.#o.instanceId}:${randomUUID()}`;
  }

  /**
   * A key completed recently by this process, with the same payload, answers duplicate without a
   * store call; anything else goes to the store, whose conditional write decides. `terms` are the
   * lease the caller asks for (default: leaseMs from now) and the cut-off before which another
   * owner's lease counts as lapsed (default: now). `firstDelivery` passes the store the hint of
   * that name (ClaimRequest.firstDelivery): it changes the cost of the claim, never its result.
   * `owner` is the owner token to claim with (default: a new one, see ownerToken).
   */
  async claim(
    key: string,
    payloadHash: string,
    terms: Partial<LeaseTerms> = {},
    firstDelivery = false,
    owner: string = this.ownerToken(),
  ): Promise<ClaimResult> {
    const now = this.#o.clock.now();
    const { pk, hashed } = recordKey(this.#o.namespace, key);
    const cached = this.#cache.get(pk, payloadHash, now);
    if (cached) return { kind: 'duplicate', record: cached };
    const generation = this.#cache.generation;
    const result = await this.#o.store.claim({
      pk,
      key: hashed ? truncate(key, MAX_KEPT_KEY_LENGTH) : undefined,
      payloadHash,
      owner,
      now,
      leaseExpiresAtMs: terms.leaseExpiresAtMs ?? now + this.#o.leaseMs,
      expiresAt: this.#expiresAt(now),
      lapsedBefore: terms.lapsedBefore ?? now,
      firstDelivery: firstDelivery || undefined,
    });
    if (result.kind === 'duplicate') this.#cache.add(result.record, generation);
    if (result.kind === 'acquired') this.#generations.set(result.claim.owner, generation);
    return result;
  }

  /** Extends the lease (to `leaseExpiresAtMs`, default leaseMs from now) and the record's expiry with it. */
  async renew(claim: Claim, leaseExpiresAtMs?: number): Promise<boolean> {
    const now = this.#o.clock.now();
    return this.#o.store.renew(claim, leaseExpiresAtMs ?? now + this.#o.leaseMs, now, this.#expiresAt(now));
  }

  /** Records the result; the retention counts from now, in the store and in the cache alike. */
  async complete(claim: Claim, result: unknown, payloadHash?: string): Promise<boolean> {
    const now = this.#o.clock.now();
    const summary = summarize(result);
    const expiresAt = this.#expiresAt(now);
    const generation = this.#generations.get(claim.owner);
    this.#generations.delete(claim.owner);
    const kept = await this.#o.store.complete(claim, now, summary, expiresAt);
    if (kept && payloadHash !== undefined) {
      this.#cache.add(
        {
          pk: claim.pk,
          status: 'COMPLETED',
          owner: claim.owner,
          fence: claim.fence,
          leaseExpiresAtMs: now,
          expiresAt,
          attempts: claim.attempt,
          payloadHash,
          firstSeenAtMs: now,
          updatedAtMs: now,
          completedAtMs: now,
          result: summary,
        },
        generation,
      );
    }
    return kept;
  }

  /**
   * Marks the key FAILED (claimable again), or with `deadLetterReason` DEAD_LETTERED: final, so a
   * redelivery of the message never runs the handler again (it only re-sends the copy or deletes).
   */
  async fail(claim: Claim, error: string, deadLetterReason?: string): Promise<boolean> {
    this.#generations.delete(claim.owner);
    const now = this.#o.clock.now();
    const message = truncate(error, MAX_ERROR_LENGTH);
    if (deadLetterReason === undefined) return this.#o.store.fail(claim, now, message);
    return this.#o.store.fail(claim, now, message, deadLetterReason);
  }

  /** Records on the DEAD_LETTERED record that the DLQ accepted the copy, as `copyId`. */
  async markDeadLettered(pk: string, copyId: string): Promise<boolean> {
    return this.#o.store.markDeadLettered(pk, copyId, this.#o.clock.now());
  }

  #expiresAt(now: number): number {
    return Math.ceil(now / 1000) + this.#o.retentionSeconds;
  }
}

/** The lease a claim asks for. */
export interface LeaseTerms {
  /** Epoch ms at which the new claim's lease ends. */
  readonly leaseExpiresAtMs: number;
  /** Another owner's lease counts as lapsed when it ended at or before this (epoch ms). */
  readonly lapsedBefore: number;
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

/** The payload hash of a body, or why the body cannot be handled at all. */
export type BodyHash = { readonly hash: string } | { readonly invalid: Reason };

/**
 * The payload hash of a raw message body: `v2:` and the hex SHA-256 of the UTF-8 of
 * `json:<canonical form>` when the body is JSON (core/canonical-json.ts: every digit as sent, keys
 * sorted, no whitespace), else `text:<the body as sent>` (or, for a text body with a lone
 * surrogate, `text16:` and its UTF-16LE code units: see LONE_SURROGATE). So `"hello"` (JSON) and `hello` (text)
 * differ, and so do 9007199254740993 and 9007199254740992. A JSON body nested deeper than
 * MAX_JSON_DEPTH is refused (BODY_TOO_DEEP).
 */
export function hashBody(rawBody: string): BodyHash {
  const read = canonicalJson(rawBody);
  if (read.kind === 'too_deep') {
    return { invalid: reason('BODY_TOO_DEEP', `the body's JSON nests deeper than ${read.depth - 1} levels`) };
  }
  const hash = createHash('sha256');
  if (read.kind === 'json') hash.update(`json:${read.canonical}`, 'utf8');
  else if (LONE_SURROGATE.test(rawBody)) hash.update('text16:', 'utf8').update(rawBody, 'utf16le');
  else hash.update(`text:${rawBody}`, 'utf8');
  return { hash: `${PAYLOAD_HASH_VERSION}${hash.digest('hex')}` };
}

/**
 * A UTF-16 code unit of a surrogate pair standing alone. UTF-8 encodes it as U+FFFD, so a text
 * body holding one would hash like the same body with U+FFFD: such bodies (and only those) are
 * hashed from their exact code units instead, after `text16:`. Every well-formed body keeps the
 * hash it always had, so records already stored still match their redeliveries; JSON bodies never
 * need it, since their canonical form writes a lone surrogate as a `\udxxx` escape.
 */
const LONE_SURROGATE = /\p{Cs}/u;

/** hashBody's hash; throws for a body hashBody refuses. */
export function payloadHash(rawBody: string): string {
  const hashed = hashBody(rawBody);
  if ('invalid' in hashed) throw new Error(hashed.invalid.message);
  return hashed.hash;
}
