import { randomUUID } from 'node:crypto';
import {
  CorruptRecordError,
  type Claim,
  type ClaimRequest,
  type ClaimResult,
  type IdempotencyStore,
  type RecordStore,
} from '../../src/core/idempotency-store.js';

/**
 * What the store contract (store-contract.ts) is built from: the subject's shape, the tests' clock
 * and claims; and the cases only a store on DynamoDB can run: request costs and malformed items.
 */

/** Requests a store sent to its backend, by operation name (`UpdateItem`, `GetItem`, ...). */
export interface RequestLog {
  counts(): Record<string, number>;
  /** Bytes of the request bodies sent, by operation, since the last reset. */
  bytes(): Record<string, number>;
  reset(): void;
}

/** The table behind a store, reached around it: to plant items the store would never write. */
export interface RawTable {
  /** Writes the item as it is (plain values), bypassing every check of the store. */
  put(item: Readonly<Record<string, unknown>>): Promise<void>;
  /** The item stored under pk as plain values, or undefined. */
  get(pk: string): Promise<Record<string, unknown> | undefined>;
}

/** Both halves of the store: the hot path and the records. */
export type FullStore = IdempotencyStore & RecordStore;

export interface StoreUnderTest {
  readonly store: FullStore;
  /** Present for stores that talk to DynamoDB: what they sent (see ContractOptions.wire). */
  readonly requests?: RequestLog;
  /** Present for stores that talk to DynamoDB (see ContractOptions.wire). */
  readonly raw?: RawTable;
  close(): Promise<void>;
}

export interface ContractOptions {
  /**
   * For stores on DynamoDB, which must then provide `requests` and `raw`: also assert the
   * DynamoDB requests each case costs, and that malformed items planted in the table are rejected.
   * `refusedClaimReads` is the GetItem a refused claim adds: 0 where the store returns the old
   * item (ReturnValuesOnConditionCheckFailure ALL_OLD: AWS, DynamoDB Local), 1 where it ignores
   * that (dynalite). The in-memory store cannot hold a malformed record, so it has no such cases.
   */
  readonly wire?: { readonly refusedClaimReads: 0 | 1 };
  /**
   * Every claim the contract makes carries the first-delivery hint (ClaimRequest.firstDelivery):
   * the results must be the same as without it; the request costs are those of the short claim.
   */
  readonly firstDelivery?: boolean;
}

/** The store, with the first-delivery hint set on every claim made through it. */
export function withFirstDeliveryHint(store: FullStore): FullStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'claim') {
        return (request: ClaimRequest) => target.claim({ ...request, firstDelivery: true });
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * jest's limit for the tests of 50 concurrent claims: each is 50-150 requests to an emulator that,
 * in-process, shares jest's event loop; at a load of 20 one took over the 30 s default. A guard
 * against a hang, not a measure of speed (they take well under a second on a quiet machine).
 */
export const CONCURRENT_GUARD_MS = 120_000;

export const LEASE_MS = 30_000;
export const RETENTION_S = 3_600;
/**
 * The tests' clock: whole seconds, ten years ahead of the real one, so that a store's TTL sweeper
 * (DynamoDB Local has one) never deletes a record mid-test. Time moves only through `now` arguments.
 */
export const T0 = Math.ceil(Date.now() / 1000 + 10 * 365 * 86_400) * 1000;
export const EXPIRY_MS = T0 + RETENTION_S * 1000;
/** Payload hashes as the worker writes them (version 2), and one written by the previous version. */
export const HASH = `v2:${'a'.repeat(64)}`;
export const OTHER_HASH = `v2:${'b'.repeat(64)}`;
export const LEGACY_HASH = 'c'.repeat(64);

/** A claim of pk at `now` with a fresh owner token, a LEASE_MS lease and RETENTION_S retention. */
export function claimAt(pk: string, now: number, payloadHash = HASH): ClaimRequest {
  return {
    pk,
    payloadHash,
    owner: `contract-worker:${randomUUID()}`,
    now,
    leaseExpiresAtMs: now + LEASE_MS,
    expiresAt: Math.ceil(now / 1000) + RETENTION_S,
  };
}

export function must(claim: Claim | void): Claim {
  if (!claim) throw new Error('the case setup held no claim');
  return claim;
}

export function acquired(result: ClaimResult): Claim {
  if (result.kind !== 'acquired') throw new Error(`expected acquired, got ${JSON.stringify(result)}`);
  return result.claim;
}

interface CostCase {
  readonly name: string;
  /** Brings the key into the state the case starts from (uncounted); may hand run() a claim. */
  readonly setup?: (store: IdempotencyStore, pk: string) => Promise<Claim | void>;
  readonly run: (store: IdempotencyStore, pk: string, held: Claim | void) => Promise<void>;
  readonly expected: Record<string, number>;
}

/** Requests summed by operation. */
function plus(...parts: Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const part of parts) for (const [op, n] of Object.entries(part)) sum[op] = (sum[op] ?? 0) + n;
  return sum;
}

/**
 * The DynamoDB requests each case of a message's life costs, counted on the real client. With the
 * first-delivery hint (`hinted`: the subject's store is wrapped by withFirstDeliveryHint), a claim
 * is first the short PutItem: it alone claims a new key, and a record in its way is then handled
 * as without the hint (the full UpdateItem for a FAILED record or a lapsed lease).
 */
export function describeRequestCosts(
  storeOf: () => IdempotencyStore,
  subjectOf: () => StoreUnderTest | undefined,
  key: (label: string) => string,
  refusedClaimReads: 0 | 1,
  hinted: boolean,
): void {
  const read = { GetItem: refusedClaimReads };
  /** The claim of an absent key. */
  const fresh: Record<string, number> = hinted ? { PutItem: 1 } : { UpdateItem: 1 };
  /** A claim refused by the record in its way, read from the refusal (or a GetItem). */
  const refused = plus(fresh, read);
  /** A claim of a FAILED record or a lapsed lease: with the hint, the short claim is refused first. */
  const reclaim: Record<string, number> = hinted ? plus(refused, { UpdateItem: 1 }) : { UpdateItem: 1 };
  /** A claim of an expired record still stored: refused, then the fresh PutItem. */
  const renewal = plus(refused, { PutItem: 1 });
  const complete = { UpdateItem: 1 };
  const claimed = async (store: IdempotencyStore, pk: string, now = T0) =>
    acquired(await store.claim(claimAt(pk, now)));
  const completed = async (store: IdempotencyStore, pk: string) => {
    await store.complete(await claimed(store, pk), T0);
  };
  const cases: CostCase[] = [
    {
      name: 'first delivery (claim, complete)',
      run: async (store, pk) => completed(store, pk),
      expected: plus(fresh, complete),
    },
    {
      name: 'duplicate (claim refused)',
      setup: completed,
      run: async (store, pk) => void (await store.claim(claimAt(pk, T0 + 1))),
      expected: refused,
    },
    {
      name: 'in progress elsewhere (claim refused)',
      setup: async (store, pk) => void (await claimed(store, pk)),
      run: async (store, pk) => void (await store.claim(claimAt(pk, T0 + 1))),
      expected: refused,
    },
    {
      name: 'payload mismatch (claim refused)',
      setup: completed,
      run: async (store, pk) => void (await store.claim(claimAt(pk, T0 + 1, OTHER_HASH))),
      expected: refused,
    },
    {
      name: 'handler failure (claim, fail)',
      run: async (store, pk) => void (await store.fail(await claimed(store, pk), T0, 'boom')),
      expected: plus(fresh, { UpdateItem: 1 }),
    },
    {
      name: 'retry of a failed key (claim, complete)',
      setup: async (store, pk) => void (await store.fail(await claimed(store, pk), T0, 'boom')),
      run: async (store, pk) => void (await store.complete(await claimed(store, pk, T0 + 1), T0 + 1)),
      expected: plus(reclaim, complete),
    },
    {
      name: 'takeover of a lapsed lease (claim, complete)',
      setup: async (store, pk) => void (await claimed(store, pk)),
      run: async (store, pk) =>
        void (await store.complete(await claimed(store, pk, T0 + LEASE_MS), T0 + LEASE_MS)),
      expected: plus(reclaim, complete),
    },
    {
      name: 'heartbeat (renew)',
      setup: claimed,
      run: async (store, _pk, held) => void (await store.renew(must(held), T0 + 2 * LEASE_MS, T0 + 1)),
      expected: { UpdateItem: 1 },
    },
    {
      name: "lease lost (the old owner's complete refused)",
      setup: async (store, pk) => {
        const old = await claimed(store, pk);
        await claimed(store, pk, T0 + LEASE_MS);
        return old;
      },
      run: async (store, _pk, held) => void (await store.complete(must(held), T0 + LEASE_MS)),
      // Refused: the record that refused it is read (ALL_OLD, or a GetItem) to tell an own write.
      expected: plus({ UpdateItem: 1 }, read),
    },
    {
      name: 'claim met twice (applied, answered with an error, retried: recognised)',
      run: async (store, pk) => {
        const request = claimAt(pk, T0);
        await store.claim(request);
        await store.claim(request);
      },
      expected: plus(fresh, refused),
    },
    {
      name: 'claim retried by the caller with a later lease (recognised, lease extended)',
      run: async (store, pk) => {
        const request = claimAt(pk, T0);
        await store.claim(request);
        await store.claim({ ...request, leaseExpiresAtMs: request.leaseExpiresAtMs + 1 });
      },
      expected: plus(fresh, refused, { UpdateItem: 1 }),
    },
    {
      name: 'complete met twice (recognised)',
      setup: claimed,
      run: async (store, _pk, held) => {
        await store.complete(must(held), T0);
        await store.complete(must(held), T0);
      },
      expected: plus({ UpdateItem: 2 }, read),
    },
    {
      name: 'expired record still stored (claim refused, fresh put, complete)',
      setup: completed,
      run: async (store, pk) => void (await store.complete(await claimed(store, pk, EXPIRY_MS), EXPIRY_MS)),
      expected: plus(renewal, complete),
    },
  ];

  describe('DynamoDB requests per case', () => {
    for (const c of cases) {
      const expected = Object.fromEntries(Object.entries(c.expected).filter(([, n]) => n > 0));
      const title = Object.entries(expected)
        .map(([op, n]) => `${n} ${op}`)
        .join(' + ');
      it(`${c.name}: ${title}`, async () => {
        const requests = subjectOf()?.requests;
        if (!requests) throw new Error('this store does not report its requests');
        const pk = key('cost');
        const held = await c.setup?.(storeOf(), pk);
        requests.reset();
        await c.run(storeOf(), pk, held);
        expect(requests.counts()).toEqual(expected);
      });
    }
  });
}

/**
 * A well-formed FAILED record with the contract's payload hash: claimable as it is, so a claim
 * refused on a malformed variant was refused for the malformation, not for its state.
 */
function plantable(pk: string): Record<string, unknown> {
  return {
    pk,
    status: 'FAILED',
    owner: 'contract-worker:planted',
    fence: 3,
    leaseExpiresAtMs: T0 + LEASE_MS,
    expiresAt: EXPIRY_MS / 1000,
    attempts: 3,
    payloadHash: HASH,
    firstSeenAtMs: T0 - 1000,
    updatedAtMs: T0 - 1000,
    lastError: 'boom',
  };
}

/** Items written straight to the table that no store would write: they must never be read as records. */
export function describeMalformedItems(
  storeOf: () => FullStore,
  subjectOf: () => StoreUnderTest | undefined,
  key: (label: string) => string,
): void {
  const parts = () => {
    const raw = subjectOf()?.raw;
    if (!raw) throw new Error('this store does not reach its table');
    return { store: storeOf(), raw };
  };
  const malformed: [string, string, (item: Record<string, unknown>) => Record<string, unknown>][] = [
    ['a missing fence', 'fence', ({ fence: _, ...rest }) => rest],
    ['an unknown status', 'status', (item) => ({ ...item, status: 'DONE' })],
    ['a fence stored as a string', 'fence', (item) => ({ ...item, fence: '3' })],
  ];

  describe('malformed items in the table', () => {
    it('reads and claims the well-formed item these cases start from', async () => {
      const { store, raw } = parts();
      const pk = key('planted');
      await raw.put(plantable(pk));
      expect(await store.get(pk, T0)).toEqual(plantable(pk));
      expect(await store.claim(claimAt(pk, T0))).toMatchObject({ kind: 'acquired', claim: { fence: 4 } });
    });

    for (const [label, attribute, spoil] of malformed) {
      it(`rejects a record with ${label} in claim, get and list, and claims nothing`, async () => {
        const { store, raw } = parts();
        const pk = key('malformed');
        const item = spoil(plantable(pk));
        await raw.put(item);
        const corrupt = {
          name: 'CorruptRecordError',
          code: 'ERR_CORRUPT_RECORD',
          pk,
          problems: [expect.stringMatching(new RegExp(`^${attribute}: `))],
        };
        await expect(store.claim(claimAt(pk, T0))).rejects.toBeInstanceOf(CorruptRecordError);
        await expect(store.claim(claimAt(pk, T0))).rejects.toMatchObject(corrupt);
        await expect(store.get(pk, T0)).rejects.toMatchObject(corrupt);
        await expect(store.list({ prefix: pk, limit: 10, now: T0 })).rejects.toMatchObject(corrupt);
        expect(await raw.get(pk)).toEqual(item);
        // clear reads keys only: it is the way out.
        expect(await store.clear(pk, { now: T0 })).toEqual({ deleted: 1, skipped: 0 });
        expect(await store.get(pk, T0)).toBeUndefined();
      });
    }
  });
}
