import type { ClaimRequest, IdempotencyRecord } from '../../src/core/idempotency-store.js';
import {
  CONCURRENT_GUARD_MS,
  EXPIRY_MS,
  HASH,
  LEASE_MS,
  LEGACY_HASH,
  OTHER_HASH,
  T0,
  acquired,
  claimAt,
  type FullStore,
  type StoreUnderTest,
} from './store-contract-dynamodb.js';

/**
 * The store contract's cases for the first-delivery hint (ClaimRequest.firstDelivery): a claim
 * with it must answer, and leave stored, exactly what the same claim without it does, whatever
 * stands in the way; only the cost may differ (describeRequestCosts counts it). Each case sets up
 * two keys alike, claims one with the hint and the other without, and compares what came of them.
 */

/** A state a key is brought into before the compared claim; `claim` is that claim's time and hash. */
export interface Scenario {
  readonly name: string;
  readonly setup: (store: FullStore, pk: string) => Promise<void>;
  readonly at: number;
  readonly payloadHash?: string;
  /** What the claim must give (as well as being the same with and without the hint). */
  readonly expected: Record<string, unknown>;
}

/** Setup claims carry one owner token, so that the two keys' records differ only in their pk. */
const SETUP_OWNER = 'contract-worker:setup';

async function setupClaim(store: FullStore, pk: string, now = T0, payloadHash = HASH) {
  return acquired(await store.claim({ ...claimAt(pk, now, payloadHash), owner: SETUP_OWNER }));
}

export const scenarios: Scenario[] = [
  {
    name: 'an absent key: acquired, fence 1, attempt 1',
    setup: async () => undefined,
    at: T0,
    expected: { kind: 'acquired', takeover: false, claim: expect.objectContaining({ fence: 1, attempt: 1 }) },
  },
  {
    name: 'a live claim elsewhere: in progress',
    setup: async (store, pk) => void (await setupClaim(store, pk)),
    at: T0 + 1,
    expected: { kind: 'in_progress', leaseExpiresAtMs: T0 + LEASE_MS },
  },
  {
    name: 'a lapsed lease: taken over, fence and attempts one up',
    setup: async (store, pk) => void (await setupClaim(store, pk)),
    at: T0 + LEASE_MS,
    expected: { kind: 'acquired', takeover: true, claim: expect.objectContaining({ fence: 2, attempt: 2 }) },
  },
  {
    name: 'a FAILED record: acquired, fence and attempts one up, its last error kept',
    setup: async (store, pk) => void (await store.fail(await setupClaim(store, pk), T0 + 10, 'boom')),
    at: T0 + 20,
    expected: { kind: 'acquired', takeover: false, claim: expect.objectContaining({ fence: 2, attempt: 2 }) },
  },
  {
    name: 'a COMPLETED record: duplicate',
    setup: async (store, pk) => void (await store.complete(await setupClaim(store, pk), T0 + 10)),
    at: T0 + 20,
    expected: { kind: 'duplicate' },
  },
  {
    name: 'an expired record still stored: a fresh claim, fence one up, attempt 1',
    setup: async (store, pk) => void (await store.complete(await setupClaim(store, pk), T0 + 10)),
    at: EXPIRY_MS,
    payloadHash: OTHER_HASH,
    expected: { kind: 'acquired', takeover: false, claim: expect.objectContaining({ fence: 2, attempt: 1 }) },
  },
  {
    name: 'a COMPLETED record of another payload: payload mismatch',
    setup: async (store, pk) => void (await store.complete(await setupClaim(store, pk), T0 + 10)),
    at: T0 + 20,
    payloadHash: OTHER_HASH,
    expected: { kind: 'payload_mismatch' },
  },
  {
    name: 'a FAILED record of another payload: payload mismatch',
    setup: async (store, pk) => void (await store.fail(await setupClaim(store, pk), T0 + 10, 'boom')),
    at: T0 + 20,
    payloadHash: OTHER_HASH,
    expected: { kind: 'payload_mismatch' },
  },
  {
    name: "a lapsed lease of the previous version's hash: taken over",
    setup: async (store, pk) => void (await setupClaim(store, pk, T0, LEGACY_HASH)),
    at: T0 + LEASE_MS,
    payloadHash: OTHER_HASH,
    expected: { kind: 'acquired', takeover: true, claim: expect.objectContaining({ fence: 2, attempt: 2 }) },
  },
];

/** `value` with every occurrence of pk spelt `<pk>`: what two keys' results are compared by. */
export function withoutPk(value: unknown, pk: string): unknown {
  return value === undefined
    ? undefined
    : (JSON.parse(JSON.stringify(value).split(pk).join('<pk>')) as unknown);
}

export function describeFirstDeliveryHint(
  subjectOf: () => StoreUnderTest | undefined,
  key: (label: string) => string,
  wire: boolean,
): void {
  const parts = () => {
    const subject = subjectOf();
    if (!subject) throw new Error('the store factory failed');
    return subject;
  };

  /** Claims pk with the request, with or without the hint; returns the result and what is stored. */
  const claimAndRead = async (pk: string, request: ClaimRequest, firstDelivery: boolean) => {
    const { store, raw } = parts();
    const result = await store.claim({ ...request, pk, firstDelivery });
    const record: IdempotencyRecord | undefined = await store.get(pk, request.now);
    // The item itself, where the store reaches its table: attributes a record does not name too.
    const item = await raw?.get(pk);
    return withoutPk({ result, record, item }, pk);
  };

  describe('the first-delivery hint: the same results and records as without it', () => {
    for (const scenario of scenarios) {
      it(`claims ${scenario.name}`, async () => {
        const { store } = parts();
        const [hinted, plain] = [key('hinted'), key('plain')];
        await scenario.setup(store, hinted);
        await scenario.setup(store, plain);
        const request = claimAt('(set per key)', scenario.at, scenario.payloadHash);
        const withHint = await claimAndRead(hinted, request, true);
        const without = await claimAndRead(plain, request, false);
        expect(withHint).toEqual(without);
        expect((withHint as { result: unknown }).result).toMatchObject(scenario.expected);
      });
    }

    it('stores the key a hashed record key keeps, with the hint as without it', async () => {
      const request = { ...claimAt('(set per key)', T0), key: 'a key too long for a record key…' };
      const withHint = await claimAndRead(key('hinted-key'), request, true);
      const without = await claimAndRead(key('plain-key'), request, false);
      expect(withHint).toEqual(without);
      expect(withHint).toMatchObject({ record: { key: request.key, fence: 1, attempts: 1 } });
    });

    if (wire) {
      // The point of the hint (issue 11): the bytes the SDK serialises and signs, the socket
      // carries and DynamoDB parses. The full claim's condition checks 16 attributes' types and the counters' range.
      it("sends a new key's claim in under a third of the full claim's bytes", async () => {
        const { store, requests } = parts();
        if (!requests) throw new Error('this store does not report its requests');
        const sent = async (firstDelivery: boolean) => {
          requests.reset();
          acquired(await store.claim({ ...claimAt(key('bytes'), T0), firstDelivery }));
          return requests.bytes();
        };
        const short = await sent(true);
        const full = await sent(false);
        expect(Object.keys(short)).toEqual(['PutItem']);
        expect(Object.keys(full)).toEqual(['UpdateItem']);
        expect(short.PutItem).toBeLessThan((full.UpdateItem ?? 0) / 3);
      });
    }

    it(
      'gives exactly one of 50 concurrent claims of one key, half of them with the hint',
      async () => {
        const { store } = parts();
        for (const [pk, at] of [
          [key('race-mixed'), T0],
          [key('race-mixed-expired'), EXPIRY_MS],
        ] as const) {
          if (at === EXPIRY_MS) await store.complete(await setupClaim(store, pk), T0);
          const results = await Promise.all(
            Array.from({ length: 50 }, (_, i) =>
              store.claim({ ...claimAt(pk, at), firstDelivery: i % 2 === 0 }),
            ),
          );
          const winners = results.flatMap((r) => (r.kind === 'acquired' ? [r.claim] : []));
          expect(winners).toHaveLength(1);
          expect(results.filter((r) => r.kind === 'in_progress')).toHaveLength(49);
          expect(await store.get(pk, at)).toMatchObject({ owner: winners[0]?.owner, attempts: 1 });
        }
      },
      CONCURRENT_GUARD_MS,
    );
  });
}
