import { randomUUID } from 'node:crypto';
import type { Claim } from '../../src/core/idempotency-store.js';
import {
  EXPIRY_MS,
  HASH,
  LEASE_MS,
  OTHER_HASH,
  T0,
  acquired,
  claimAt,
  type FullStore,
} from './store-contract-dynamodb.js';

/**
 * Own writes recognised (issue 19, item 1): a write that was applied and then answered with an
 * error is sent again (the SDK's retry, or the caller's with the same owner token) and meets its
 * own effect. Each operation is met twice here, exactly as the retry sends it: the second answer
 * must be the first one's, and the record must be what one write leaves.
 */
export function describeOwnWrites(store: () => FullStore, key: (label: string) => string): void {
  const take = async (pk: string, now = T0): Promise<Claim> =>
    acquired(await store().claim(claimAt(pk, now)));

  describe('own writes met twice (an applied write answered with an error, then retried)', () => {
    it('claim of an absent key: the retry is acquired with fence 1, attempt 1, and writes nothing more', async () => {
      const pk = key('own-claim');
      const request = claimAt(pk, T0);
      const claim = { pk, owner: request.owner, fence: 1, attempt: 1 };
      expect(await store().claim(request)).toEqual({ kind: 'acquired', takeover: false, claim });
      const stored = await store().get(pk, T0);
      expect(await store().claim(request)).toEqual({ kind: 'acquired', takeover: false, claim });
      expect(await store().get(pk, T0)).toEqual(stored);
      expect(stored).toMatchObject({ status: 'IN_PROGRESS', owner: request.owner, fence: 1, attempts: 1 });
    });

    it('claim of a FAILED key: the retry answers the claim the first attempt took (fence 2, attempt 2)', async () => {
      const pk = key('own-reclaim');
      await store().fail(await take(pk), T0, 'boom');
      const request = claimAt(pk, T0 + 10);
      const claim = { pk, owner: request.owner, fence: 2, attempt: 2 };
      expect(await store().claim(request)).toEqual({ kind: 'acquired', takeover: false, claim });
      expect(await store().claim(request)).toEqual({ kind: 'acquired', takeover: false, claim });
      expect(await store().get(pk, T0 + 10)).toMatchObject({ fence: 2, attempts: 2, owner: request.owner });
    });

    it('claim taking over a lapsed lease: the retry is acquired with the same fence, takeover unknown (false)', async () => {
      const pk = key('own-takeover');
      await take(pk);
      const request = claimAt(pk, T0 + LEASE_MS);
      const claim = { pk, owner: request.owner, fence: 2, attempt: 2 };
      expect(await store().claim(request)).toEqual({ kind: 'acquired', takeover: true, claim });
      expect(await store().claim(request)).toEqual({ kind: 'acquired', takeover: false, claim });
    });

    it("the caller's retry with the same owner and a later lease extends the stored lease to it", async () => {
      const pk = key('own-later');
      const first = claimAt(pk, T0);
      await store().claim(first);
      const retry = { ...first, now: T0 + 5_000, leaseExpiresAtMs: T0 + 5_000 + LEASE_MS };
      expect(await store().claim(retry)).toEqual({
        kind: 'acquired',
        takeover: false,
        claim: { pk, owner: first.owner, fence: 1, attempt: 1 },
      });
      expect(await store().get(pk, T0 + 5_000)).toMatchObject({
        owner: first.owner,
        fence: 1,
        attempts: 1,
        leaseExpiresAtMs: T0 + 5_000 + LEASE_MS,
      });
      // A retry asking for no more than is stored changes nothing.
      const stored = await store().get(pk, T0 + 5_000);
      expect(await store().claim({ ...first, now: T0 + 6_000 })).toMatchObject({ kind: 'acquired' });
      expect(await store().get(pk, T0 + 6_000)).toEqual(stored);
    });

    it('complete: the retry answers true and the record stays COMPLETED with the result', async () => {
      const pk = key('own-complete');
      const claim = await take(pk);
      expect(await store().complete(claim, T0 + 1, '{"n":1}')).toBe(true);
      expect(await store().complete(claim, T0 + 1, '{"n":1}')).toBe(true);
      expect(await store().get(pk, T0 + 1)).toMatchObject({
        status: 'COMPLETED',
        owner: claim.owner,
        fence: 1,
        completedAtMs: T0 + 1,
        result: '{"n":1}',
      });
    });

    it('fail: the retry answers true, the record stays FAILED', async () => {
      const pk = key('own-fail');
      const claim = await take(pk);
      expect(await store().fail(claim, T0 + 1, 'boom')).toBe(true);
      expect(await store().fail(claim, T0 + 1, 'boom')).toBe(true);
      expect(await store().get(pk, T0 + 1)).toMatchObject({
        status: 'FAILED',
        owner: claim.owner,
        lastError: 'boom',
      });
    });

    it('fail with a dead-letter reason: the retry answers true, the record stays DEAD_LETTERED', async () => {
      const pk = key('own-dead');
      const claim = await take(pk);
      expect(await store().fail(claim, T0 + 1, 'bad', 'PERMANENT_ERROR')).toBe(true);
      expect(await store().fail(claim, T0 + 1, 'bad', 'PERMANENT_ERROR')).toBe(true);
      expect(await store().get(pk, T0 + 1)).toMatchObject({
        status: 'DEAD_LETTERED',
        owner: claim.owner,
        lastError: 'bad',
        deadLetterReason: 'PERMANENT_ERROR',
      });
    });

    it('renew: the retry answers true and the lease is the one asked for', async () => {
      const pk = key('own-renew');
      const claim = await take(pk);
      expect(await store().renew(claim, T0 + 2 * LEASE_MS, T0 + 1)).toBe(true);
      expect(await store().renew(claim, T0 + 2 * LEASE_MS, T0 + 1)).toBe(true);
      expect(await store().get(pk, T0 + 1)).toMatchObject({ leaseExpiresAtMs: T0 + 2 * LEASE_MS });
    });
  });

  describe('what is not an own write', () => {
    it('another state than the one written: complete after own fail, fail after own complete, plain fail after dead-lettering', async () => {
      const failed = await take(key('not-own-1'));
      await store().fail(failed, T0, 'boom');
      expect(await store().complete(failed, T0 + 1)).toBe(false);
      expect(await store().fail(failed, T0 + 1, 'boom', 'PERMANENT_ERROR')).toBe(false);
      const done = await take(key('not-own-2'));
      await store().complete(done, T0);
      expect(await store().fail(done, T0 + 1, 'boom')).toBe(false);
      expect(await store().renew(done, T0 + 2 * LEASE_MS, T0 + 1)).toBe(false);
      const dead = await take(key('not-own-3'));
      await store().fail(dead, T0, 'bad', 'PERMANENT_ERROR');
      expect(await store().fail(dead, T0 + 1, 'bad')).toBe(false);
      expect(await store().get(dead.pk, T0 + 1)).toMatchObject({ status: 'DEAD_LETTERED', updatedAtMs: T0 });
    });

    it('another owner: the same state written by someone else is not ours', async () => {
      const pk = key('not-own-owner');
      const first = await take(pk);
      const second = await take(pk, T0 + LEASE_MS);
      await store().complete(second, T0 + LEASE_MS);
      expect(await store().complete(first, T0 + LEASE_MS + 1)).toBe(false);
      const stranger = { ...claimAt(pk, T0 + LEASE_MS + 2), owner: `contract-worker:${randomUUID()}` };
      expect(await store().claim(stranger)).toMatchObject({ kind: 'duplicate' });
    });

    it('a claim by the same owner meeting its own COMPLETED record is a duplicate, not acquired', async () => {
      const pk = key('not-own-done');
      const request = claimAt(pk, T0);
      await store().complete(acquired(await store().claim(request)), T0);
      expect(await store().claim({ ...request, now: T0 + 1 })).toMatchObject({ kind: 'duplicate' });
      expect(await store().claim({ ...request, now: T0 + 1, payloadHash: OTHER_HASH })).toMatchObject({
        kind: 'payload_mismatch',
      });
    });

    it('an own claim whose record expired is not recognised: the key starts a new life', async () => {
      const pk = key('not-own-expired');
      const request = claimAt(pk, T0, HASH);
      await store().claim(request);
      const late = {
        ...request,
        now: EXPIRY_MS,
        leaseExpiresAtMs: EXPIRY_MS + LEASE_MS,
        expiresAt: EXPIRY_MS / 1000 + 60,
      };
      expect(await store().claim(late)).toMatchObject({ kind: 'acquired', claim: { fence: 2, attempt: 1 } });
    });
  });
}
