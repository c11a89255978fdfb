import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import {
  MAX_ERROR_LENGTH,
  MAX_RESULT_LENGTH,
  type Claim,
  type ClaimResult,
  type IdempotencyStore,
} from './idempotency-store.js';

export interface IdempotencyOptions {
  readonly store: IdempotencyStore;
  readonly clock: Clock;
  /** Records are `<namespace>#<key>`, so workers of different queues can share a table. */
  readonly namespace: string;
  /** Identifies this process in record owners (host name, pod name, ...). */
  readonly instanceId: string;
  readonly leaseMs: number;
  readonly retentionSeconds: number;
}

/**
 * The idempotency rules on top of a store: namespacing, owner tokens, lease and retention
 * arithmetic, and bounding what is written.
 */
export class IdempotencyService {
  readonly #o: IdempotencyOptions;

  constructor(options: IdempotencyOptions) {
    this.#o = options;
  }

  get namespace(): string {
    return this.#o.namespace;
  }

  pk(key: string): string {
    return `${this.#o.namespace}#${key}`;
  }

  async claim(key: string, payloadHash: string): Promise<ClaimResult> {
    const now = this.#o.clock.now();
    return this.#o.store.claim({
      pk: this.pk(key),
      payloadHash,
      owner: `${this.#o.instanceId}:${randomUUID()}`,
      now,
      leaseExpiresAtMs: now + this.#o.leaseMs,
      expiresAt: Math.ceil(now / 1000) + this.#o.retentionSeconds,
    });
  }

  async renew(claim: Claim): Promise<boolean> {
    const now = this.#o.clock.now();
    return this.#o.store.renew(claim, now + this.#o.leaseMs, now);
  }

  async complete(claim: Claim, result: unknown): Promise<boolean> {
    return this.#o.store.complete(claim, this.#o.clock.now(), summarize(result));
  }

  async fail(claim: Claim, error: string): Promise<boolean> {
    return this.#o.store.fail(claim, this.#o.clock.now(), truncate(error, MAX_ERROR_LENGTH));
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
