import { MAX_JSON_DEPTH } from '../../src/core/canonical-json.js';
import type { Claim, ClaimRequest, ClaimResult } from '../../src/core/idempotency-store.js';
import { MAX_ERROR_LENGTH, MAX_KEPT_KEY_LENGTH, MAX_PK_BYTES } from '../../src/core/idempotency-store.js';
import { hashBody, payloadHash } from '../../src/core/idempotency.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { ManualClock, service } from '../helpers/fakes.js';

/**
 * What IdempotencyService (core/idempotency.ts) asks its store, argument by argument: the
 * defaults of a claim's terms and of a renewal, the key kept beside a hashed pk, the error text's
 * cut, and when its completed-key cache answers instead of the store. Found by mutation testing:
 * each case here let a mutant of the service survive.
 */
class RecordingStore extends MemoryIdempotencyStore {
  readonly claims: ClaimRequest[] = [];
  readonly renewals: { leaseExpiresAtMs: number; now: number }[] = [];
  readonly failures: { message: string; reason: string | undefined }[] = [];
  completeAnswers = true;

  override async claim(request: ClaimRequest): Promise<ClaimResult> {
    this.claims.push(request);
    return super.claim(request);
  }

  override async renew(
    claim: Claim,
    leaseExpiresAtMs: number,
    now: number,
    expiresAt: number,
  ): Promise<boolean> {
    this.renewals.push({ leaseExpiresAtMs, now });
    return super.renew(claim, leaseExpiresAtMs, now, expiresAt);
  }

  override async complete(
    claim: Claim,
    now: number,
    result: string | undefined,
    expiresAt: number,
  ): Promise<boolean> {
    const kept = await super.complete(claim, now, result, expiresAt);
    return kept && this.completeAnswers;
  }

  override async fail(claim: Claim, now: number, error: string, deadLetterReason?: string): Promise<boolean> {
    this.failures.push({ message: error, reason: deadLetterReason });
    return super.fail(claim, now, error, deadLetterReason);
  }
}

const HASH = payloadHash('{"n":1}');

/** Warms the cache's view of the records generation, as a running worker has it. */
async function warm(idempotency: ReturnType<typeof service>, store: RecordingStore): Promise<number> {
  await idempotency.claim('warm', HASH);
  await Promise.resolve();
  return store.claims.length;
}

async function acquired(claiming: Promise<ClaimResult>): Promise<Claim> {
  const result = await claiming;
  if (result.kind !== 'acquired') throw new Error(`expected acquired, got ${result.kind}`);
  return result.claim;
}

describe('IdempotencyService: the terms of a claim', () => {
  it('asks for a lease of leaseMs from now and counts leases ended by now as lapsed, by default', async () => {
    const store = new RecordingStore();
    const clock = new ManualClock();
    await service(store, clock).claim('k', HASH);
    expect(store.claims[0]).toMatchObject({
      leaseExpiresAtMs: clock.now() + 30_000,
      lapsedBefore: clock.now(),
    });
  });

  it('passes the terms it is given unchanged', async () => {
    const store = new RecordingStore();
    const clock = new ManualClock();
    const terms = { leaseExpiresAtMs: clock.now() + 5_000, lapsedBefore: clock.now() - 2_000 };
    await service(store, clock).claim('k', HASH, terms);
    expect(store.claims[0]).toMatchObject(terms);
  });

  it('keeps the key as sent beside a hashed pk, cut to MAX_KEPT_KEY_LENGTH; a short key is not repeated', async () => {
    const store = new RecordingStore();
    const idempotency = service(store);
    const long = 'k'.repeat(Math.max(MAX_PK_BYTES, MAX_KEPT_KEY_LENGTH) + 10);
    await idempotency.claim(long, HASH);
    await idempotency.claim('short', HASH);
    const [hashed, plain] = store.claims;
    expect(hashed?.pk).not.toContain(long);
    expect(hashed?.key).toHaveLength(MAX_KEPT_KEY_LENGTH);
    expect(hashed?.key?.startsWith('k'.repeat(MAX_KEPT_KEY_LENGTH - 1))).toBe(true);
    expect(hashed?.key?.endsWith('…')).toBe(true);
    expect(plain?.key).toBeUndefined();
  });

  it('names its namespace', () => {
    expect(service().namespace).toBe('q');
  });
});

describe('IdempotencyService: renewals', () => {
  it('renews to leaseMs from now by default, and to the given end when there is one', async () => {
    const store = new RecordingStore();
    const clock = new ManualClock();
    const idempotency = service(store, clock);
    const claim = await acquired(idempotency.claim('k', HASH));
    clock.advance(1_000);
    expect(await idempotency.renew(claim)).toBe(true);
    expect(await idempotency.renew(claim, clock.now() + 7_000)).toBe(true);
    expect(store.renewals).toEqual([
      { leaseExpiresAtMs: clock.now() + 30_000, now: clock.now() },
      { leaseExpiresAtMs: clock.now() + 7_000, now: clock.now() },
    ]);
  });
});

describe('IdempotencyService: the completed-key cache', () => {
  it('a duplicate the store answered is remembered: the next claim of that key asks the store nothing', async () => {
    const store = new RecordingStore();
    const first = service(store, new ManualClock(), 'a');
    await first.complete(await acquired(first.claim('k', HASH)), 'done');
    const other = service(store, new ManualClock(), 'b', 10);
    const before = await warm(other, store);
    expect((await other.claim('k', HASH)).kind).toBe('duplicate');
    expect((await other.claim('k', HASH)).kind).toBe('duplicate');
    expect(store.claims).toHaveLength(before + 1);
  });

  it('a complete the store refused (the lease was lost) is not remembered', async () => {
    const store = new RecordingStore();
    const idempotency = service(store, new ManualClock(), 'a', 10);
    const before = await warm(idempotency, store);
    const claim = await acquired(idempotency.claim('k', HASH));
    store.completeAnswers = false;
    expect(await idempotency.complete(claim, 'done', HASH)).toBe(false);
    await idempotency.claim('k', HASH);
    expect(store.claims).toHaveLength(before + 2);
  });

  it('a record served from the cache has no result when the handler returned nothing', async () => {
    const store = new RecordingStore();
    const idempotency = service(store, new ManualClock(), 'a', 10);
    const before = await warm(idempotency, store);
    expect(await idempotency.complete(await acquired(idempotency.claim('k', HASH)), undefined, HASH)).toBe(
      true,
    );
    const again = await idempotency.claim('k', HASH);
    expect(store.claims).toHaveLength(before + 1);
    if (again.kind !== 'duplicate') throw new Error(again.kind);
    expect(again.record.result).toBeUndefined();
  });
});

describe('IdempotencyService: the error kept by fail', () => {
  it('keeps an error of exactly MAX_ERROR_LENGTH characters whole, and cuts a longer one to that length', async () => {
    const store = new RecordingStore();
    const idempotency = service(store);
    const fits = 'e'.repeat(MAX_ERROR_LENGTH);
    await idempotency.fail(await acquired(idempotency.claim('a', HASH)), fits);
    await idempotency.fail(await acquired(idempotency.claim('b', HASH)), `${fits}e`, 'HANDLER_PERMANENT');
    expect(store.failures[0]).toEqual({ message: fits, reason: undefined });
    expect(store.failures[1]?.message).toHaveLength(MAX_ERROR_LENGTH);
    expect(store.failures[1]?.message.endsWith('…')).toBe(true);
    expect(store.failures[1]?.reason).toBe('HANDLER_PERMANENT');
  });
});

describe('hashBody and payloadHash refuse a body nested too deep', () => {
  const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;

  it('hashBody names the depth limit in its reason', () => {
    const hashed = hashBody(deep);
    if (!('invalid' in hashed)) throw new Error('expected a refusal');
    expect(hashed.invalid.code).toBe('BODY_TOO_DEEP');
    expect(hashed.invalid.message).toBe(`the body's JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it('payloadHash throws that reason instead of returning a hash', () => {
    expect(() => payloadHash(deep)).toThrow(`deeper than ${MAX_JSON_DEPTH} levels`);
  });
});
