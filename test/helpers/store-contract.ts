import { randomUUID } from 'node:crypto';
import { RECORD_FORMAT, type Claim } from '../../src/core/idempotency-store.js';
import {
  EXPIRY_MS,
  HASH,
  LEASE_MS,
  OTHER_HASH,
  RETENTION_S,
  T0,
  acquired,
  claimAt,
  describeMalformedItems,
  describeRequestCosts,
  withFirstDeliveryHint,
  type ContractOptions,
  type FullStore,
  type StoreUnderTest,
  CONCURRENT_GUARD_MS,
} from './store-contract-dynamodb.js';
import { describeFirstDeliveryHint } from './store-contract-hint.js';
import { describeKeysAndHashes } from './store-contract-keys.js';
import { describeListing } from './store-contract-listing.js';
import { describeOwnWrites } from './store-contract-own-writes.js';
import { describePlantedRecords, describeRecordStates } from './store-contract-records.js';

export type {
  ContractOptions,
  FullStore,
  RawTable,
  RequestLog,
  StoreUnderTest,
} from './store-contract-dynamodb.js';

/**
 * The IdempotencyStore and RecordStore contract: one `describe` block that any implementation
 * must pass. Every test uses its own keys (under a prefix unique to this block), so tests and
 * implementations can share a table; time is passed explicitly, never slept.
 */
export function describeStoreContract(
  name: string,
  factory: () => Promise<StoreUnderTest>,
  options: ContractOptions = {},
): void {
  describe(name, () => {
    let subject: StoreUnderTest | undefined;
    const prefix = `contract-${randomUUID().slice(0, 8)}#`;
    let serial = 0;
    /** A pk no other test uses. */
    const key = (label: string) => `${prefix}${label}-${(serial += 1)}`;
    let hinted: FullStore | undefined;
    /** The store under test: with the first-delivery hint on every claim when options say so. */
    const store = (): FullStore => {
      if (!subject) throw new Error(`${name}: the store factory failed`);
      if (!options.firstDelivery) return subject.store;
      hinted ??= withFirstDeliveryHint(subject.store);
      return hinted;
    };
    /** Claims pk at `now` and asserts it was acquired. */
    const take = async (pk: string, now: number, payloadHash = HASH) =>
      acquired(await store().claim(claimAt(pk, now, payloadHash)));

    beforeAll(async () => {
      subject = await factory();
    });

    afterAll(async () => {
      await subject?.close();
    });

    it('claims an absent key: acquired, fence 1, attempt 1, and stores the whole record', async () => {
      const pk = key('first');
      const request = claimAt(pk, T0);
      expect(await store().claim(request)).toEqual({
        kind: 'acquired',
        takeover: false,
        claim: { pk, owner: request.owner, fence: 1, attempt: 1 },
      });
      expect(await store().get(pk, T0)).toEqual({
        pk,
        status: 'IN_PROGRESS',
        owner: request.owner,
        fence: 1,
        leaseExpiresAtMs: T0 + LEASE_MS,
        expiresAt: T0 / 1000 + RETENTION_S,
        attempts: 1,
        payloadHash: HASH,
        firstSeenAtMs: T0,
        updatedAtMs: T0,
        formatVersion: RECORD_FORMAT,
      });
    });

    it(
      'gives exactly one of 50 concurrent claims of one key; the others see it in progress',
      async () => {
        const pk = key('race');
        const requests = Array.from({ length: 50 }, () => claimAt(pk, T0));
        const results = await Promise.all(requests.map((r) => store().claim(r)));
        const winners = results.flatMap((r) => (r.kind === 'acquired' ? [r.claim] : []));
        expect(winners).toHaveLength(1);
        expect(results.filter((r) => r.kind === 'in_progress')).toHaveLength(49);
        for (const r of results) {
          expect(r).toEqual(
            r.kind === 'acquired'
              ? {
                  kind: 'acquired',
                  takeover: false,
                  claim: { pk, owner: r.claim.owner, fence: 1, attempt: 1 },
                }
              : { kind: 'in_progress', leaseExpiresAtMs: T0 + LEASE_MS },
          );
        }
        expect(await store().get(pk, T0)).toMatchObject({ owner: winners[0]?.owner, fence: 1, attempts: 1 });
      },
      CONCURRENT_GUARD_MS,
    );

    it(
      'gives exactly one of 50 concurrent claims of an expired key that is still stored',
      async () => {
        const pk = key('race-expired');
        const old = await take(pk, T0);
        await store().complete(old, T0);
        const results = await Promise.all(
          Array.from({ length: 50 }, () => store().claim(claimAt(pk, EXPIRY_MS))),
        );
        const winners = results.flatMap((r) => (r.kind === 'acquired' ? [r.claim] : []));
        expect(winners).toHaveLength(1);
        expect(results.filter((r) => r.kind === 'in_progress')).toHaveLength(49);
        expect(await store().get(pk, EXPIRY_MS)).toMatchObject({ owner: winners[0]?.owner, attempts: 1 });
      },
      CONCURRENT_GUARD_MS,
    );

    it('refuses a claim while the lease runs and lets it be taken over once it lapses', async () => {
      const pk = key('lease');
      const first = await take(pk, T0);
      expect(await store().claim(claimAt(pk, T0 + LEASE_MS - 1))).toEqual({
        kind: 'in_progress',
        leaseExpiresAtMs: T0 + LEASE_MS,
      });
      const request = claimAt(pk, T0 + LEASE_MS);
      expect(await store().claim(request)).toEqual({
        kind: 'acquired',
        takeover: true,
        claim: { pk, owner: request.owner, fence: first.fence + 1, attempt: 2 },
      });
      expect(await store().get(pk, T0 + LEASE_MS)).toMatchObject({
        status: 'IN_PROGRESS',
        owner: request.owner,
        fence: first.fence + 1,
        attempts: 2,
        leaseExpiresAtMs: T0 + 2 * LEASE_MS,
        firstSeenAtMs: T0,
        updatedAtMs: T0 + LEASE_MS,
      });
    });

    it("refuses the old owner's complete, fail and renew after a takeover and keeps the record", async () => {
      const pk = key('stale-owner');
      const old = await take(pk, T0);
      const now = T0 + LEASE_MS + 5_000;
      const current = await take(pk, now);
      const before = await store().get(pk, now);
      expect(await store().complete(old, now + 1, '{"stale":true}')).toBe(false);
      expect(await store().fail(old, now + 2, 'stale failure')).toBe(false);
      expect(await store().renew(old, now + 10 * LEASE_MS, now + 3)).toBe(false);
      expect(await store().get(pk, now + 4)).toEqual(before);
      expect(await store().complete(current, now + 5)).toBe(true);
      expect(await store().get(pk, now + 5)).toMatchObject({ status: 'COMPLETED', owner: current.owner });
    });

    it('answers duplicate for a completed key until it expires, then lets it be claimed afresh', async () => {
      const pk = key('completed');
      const claim = await take(pk, T0);
      expect(await store().complete(claim, T0 + 100, '{"ok":true}')).toBe(true);
      const completed = await store().get(pk, T0 + 100);
      expect(completed).toMatchObject({
        status: 'COMPLETED',
        completedAtMs: T0 + 100,
        result: '{"ok":true}',
      });
      for (const now of [T0 + 100, T0 + 10 * LEASE_MS, EXPIRY_MS - 1]) {
        expect(await store().claim(claimAt(pk, now))).toEqual({ kind: 'duplicate', record: completed });
      }
      // Expired: a new life for the key, whatever the payload; the fence still grows while stored.
      const request = claimAt(pk, EXPIRY_MS, OTHER_HASH);
      const fresh = await store().claim(request);
      expect(fresh).toMatchObject({ kind: 'acquired', takeover: false, claim: { pk, attempt: 1 } });
      expect(acquired(fresh).fence).toBeGreaterThan(claim.fence);
      expect(await store().get(pk, EXPIRY_MS)).toEqual({
        pk,
        status: 'IN_PROGRESS',
        owner: request.owner,
        fence: acquired(fresh).fence,
        leaseExpiresAtMs: EXPIRY_MS + LEASE_MS,
        expiresAt: request.expiresAt,
        attempts: 1,
        payloadHash: OTHER_HASH,
        firstSeenAtMs: EXPIRY_MS,
        updatedAtMs: EXPIRY_MS,
        formatVersion: RECORD_FORMAT,
      });
    });

    it('reports a payload mismatch whatever state the record is in, and changes nothing', async () => {
      const completed = key('mismatch-completed');
      await store().complete(await take(completed, T0), T0);
      const running = key('mismatch-running');
      await take(running, T0);
      const failed = key('mismatch-failed');
      await store().fail(await take(failed, T0), T0, 'boom');
      // A lapsed lease, and a failed record, would be claimable with the right payload: not with another.
      for (const [pk, now] of [
        [completed, T0 + 1],
        [running, T0 + 1],
        [running, T0 + LEASE_MS],
        [failed, T0 + 1],
      ] as const) {
        const before = await store().get(pk, now);
        expect(await store().claim(claimAt(pk, now, OTHER_HASH))).toEqual({
          kind: 'payload_mismatch',
          record: before,
        });
        expect(await store().get(pk, now)).toEqual(before);
      }
    });

    it('lets a failed key be claimed again at once, keeping its attempt count and last error', async () => {
      const pk = key('failed');
      const first = await take(pk, T0);
      expect(await store().fail(first, T0 + 10, 'boom 1')).toBe(true);
      expect(await store().get(pk, T0 + 10)).toMatchObject({
        status: 'FAILED',
        owner: first.owner,
        attempts: 1,
        lastError: 'boom 1',
        updatedAtMs: T0 + 10,
      });
      // Within the first claim's lease: a failure releases the key at once.
      const second = await store().claim(claimAt(pk, T0 + 20));
      expect(second).toMatchObject({ kind: 'acquired', takeover: false, claim: { fence: 2, attempt: 2 } });
      expect(await store().get(pk, T0 + 20)).toMatchObject({
        status: 'IN_PROGRESS',
        attempts: 2,
        lastError: 'boom 1',
        firstSeenAtMs: T0,
      });
      expect(await store().fail(acquired(second), T0 + 30, 'boom 2')).toBe(true);
      const third = await take(pk, T0 + 40);
      expect(third).toMatchObject({ fence: 3, attempt: 3 });
      expect(await store().complete(third, T0 + 50)).toBe(true);
      expect(await store().get(pk, T0 + 50)).toMatchObject({
        status: 'COMPLETED',
        attempts: 3,
        lastError: 'boom 2',
        completedAtMs: T0 + 50,
      });
    });

    it('grows the fencing number with every claim, and the claim carries the stored one', async () => {
      const pk = key('fence');
      const fences: number[] = [];
      let now = T0;
      for (let i = 0; i < 3; i += 1) {
        const claim = await take(pk, now);
        fences.push(claim.fence);
        expect((await store().get(pk, now))?.fence).toBe(claim.fence);
        await store().fail(claim, now, `boom ${i}`);
        now += 1_000;
      }
      const lapsing = await take(pk, now);
      fences.push(lapsing.fence);
      fences.push((await take(pk, now + LEASE_MS)).fence);
      expect(fences).toEqual([1, 2, 3, 4, 5]);
    });

    it('extends the lease on renew: a claim after the old lease but before the new one is refused', async () => {
      const pk = key('renew');
      const claim = await take(pk, T0);
      expect(await store().renew(claim, T0 + 3 * LEASE_MS, T0 + LEASE_MS - 1)).toBe(true);
      expect(await store().get(pk, T0 + LEASE_MS)).toMatchObject({
        leaseExpiresAtMs: T0 + 3 * LEASE_MS,
        updatedAtMs: T0 + LEASE_MS - 1,
      });
      expect(await store().claim(claimAt(pk, T0 + 2 * LEASE_MS))).toEqual({
        kind: 'in_progress',
        leaseExpiresAtMs: T0 + 3 * LEASE_MS,
      });
      const stranger = { ...claim, owner: `contract-worker:${randomUUID()}` };
      expect(await store().renew(stranger, T0 + 9 * LEASE_MS, T0 + 2 * LEASE_MS)).toBe(false);
      expect(await store().complete(claim, T0 + 2 * LEASE_MS)).toBe(true);
      expect(await store().renew(claim, T0 + 9 * LEASE_MS, T0 + 2 * LEASE_MS)).toBe(false);
      expect(await store().claim(claimAt(pk, T0 + 3 * LEASE_MS))).toMatchObject({ kind: 'duplicate' });
    });

    it('moves the record expiry with each renewal, so a long handler never outlives its record', async () => {
      const pk = key('renew-expiry');
      const claim = await take(pk, T0);
      const later = EXPIRY_MS + 10 * LEASE_MS;
      // Renewed just before the retention runs out: the record lives on with the lease.
      const at = EXPIRY_MS - LEASE_MS;
      expect(await store().renew(claim, at + LEASE_MS, at, later / 1000 + RETENTION_S)).toBe(true);
      expect(await store().get(pk, later)).toMatchObject({ status: 'IN_PROGRESS', owner: claim.owner });
      expect(await store().claim(claimAt(pk, later))).toMatchObject({ kind: 'acquired', takeover: true });
    });

    it('counts the retention of a completed key from its completion when complete() says so', async () => {
      const pk = key('complete-expiry');
      const claim = await take(pk, T0);
      const done = EXPIRY_MS - 1000;
      expect(await store().complete(claim, done, undefined, done / 1000 + RETENTION_S)).toBe(true);
      expect(await store().claim(claimAt(pk, EXPIRY_MS + 1000))).toMatchObject({ kind: 'duplicate' });
      expect(await store().get(pk, done + RETENTION_S * 1000 + 1000)).toBeUndefined();
    });

    it('does not take over a lease that lapsed less than the clock-skew margin ago (lapsedBefore)', async () => {
      const pk = key('skew');
      await take(pk, T0);
      const now = T0 + LEASE_MS + 500;
      expect(await store().claim({ ...claimAt(pk, now), lapsedBefore: now - 1000 })).toEqual({
        kind: 'in_progress',
        leaseExpiresAtMs: T0 + LEASE_MS,
      });
      expect(await store().claim({ ...claimAt(pk, now), lapsedBefore: now - 500 })).toMatchObject({
        kind: 'acquired',
        takeover: true,
      });
    });

    it('writes nothing for complete, fail or renew of a key that was never claimed', async () => {
      const claim: Claim = { pk: key('ghost'), owner: 'contract-worker:ghost', fence: 1, attempt: 1 };
      expect(await store().complete(claim, T0)).toBe(false);
      expect(await store().fail(claim, T0, 'boom')).toBe(false);
      expect(await store().renew(claim, T0 + LEASE_MS, T0)).toBe(false);
      expect(await store().get(claim.pk, T0)).toBeUndefined();
      expect((await store().list({ prefix: claim.pk, limit: 10, now: T0 })).records).toEqual([]);
    });

    describeListing(store, key, take);
    describeKeysAndHashes(store, prefix.slice(0, -1), () => key('k').slice(prefix.length));
    describeOwnWrites(store, key);
    describeRecordStates(store, key);

    if (options.firstDelivery) describeFirstDeliveryHint(() => subject, key, options.wire !== undefined);

    if (options.wire) {
      const { refusedClaimReads } = options.wire;
      describeRequestCosts(store, () => subject, key, refusedClaimReads, options.firstDelivery === true);
      describeMalformedItems(store, () => subject, key);
      describePlantedRecords(store, () => subject, key);
    }
  });
}
