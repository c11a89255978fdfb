import {
  CorruptRecordError,
  MAX_COUNTER,
  RECORD_FORMAT,
  type Claim,
} from '../../src/core/idempotency-store.js';
import {
  EXPIRY_MS,
  HASH,
  LEASE_MS,
  OTHER_HASH,
  T0,
  acquired,
  claimAt,
  type FullStore,
  type StoreUnderTest,
} from './store-contract-dynamodb.js';

/**
 * Issue 19's record states, on every store: DEAD_LETTERED (final), the DLQ copy's id, reopening
 * for `dlq redrive`, and `records clear` sparing live claims (item 4).
 */
export function describeRecordStates(store: () => FullStore, key: (label: string) => string): void {
  const take = async (pk: string, now = T0): Promise<Claim> =>
    acquired(await store().claim(claimAt(pk, now)));
  const deadLettered = async (pk: string): Promise<Claim> => {
    const claim = await take(pk);
    expect(await store().fail(claim, T0 + 1, 'bad input', 'PERMANENT_ERROR')).toBe(true);
    return claim;
  };

  describe('DEAD_LETTERED records', () => {
    it('are final: same payload answers dead_lettered at any time, lease or not; another payload payload_mismatch', async () => {
      const pk = key('dead');
      const claim = await deadLettered(pk);
      const record = await store().get(pk, T0 + 1);
      expect(record).toEqual({
        pk,
        status: 'DEAD_LETTERED',
        owner: claim.owner,
        fence: 1,
        leaseExpiresAtMs: T0 + LEASE_MS,
        expiresAt: EXPIRY_MS / 1000,
        attempts: 1,
        payloadHash: HASH,
        firstSeenAtMs: T0,
        updatedAtMs: T0 + 1,
        lastError: 'bad input',
        deadLetterReason: 'PERMANENT_ERROR',
        formatVersion: RECORD_FORMAT,
      });
      for (const now of [T0 + 2, T0 + LEASE_MS, T0 + 10 * LEASE_MS, EXPIRY_MS - 1]) {
        expect(await store().claim(claimAt(pk, now))).toEqual({ kind: 'dead_lettered', record });
        expect(await store().claim({ ...claimAt(pk, now), lapsedBefore: now + LEASE_MS })).toEqual({
          kind: 'dead_lettered',
          record,
        });
      }
      expect(await store().claim(claimAt(pk, T0 + 2, OTHER_HASH))).toEqual({
        kind: 'payload_mismatch',
        record,
      });
      expect(await store().get(pk, EXPIRY_MS - 1)).toEqual(record);
      // Its owner's later writes are refused too: the state is terminal.
      expect(await store().complete(claim, T0 + 3)).toBe(false);
      expect(await store().renew(claim, T0 + 2 * LEASE_MS, T0 + 3)).toBe(false);
    });

    it('expire like any record: then the key starts a new life', async () => {
      const pk = key('dead-expired');
      await deadLettered(pk);
      expect(await store().claim(claimAt(pk, EXPIRY_MS))).toMatchObject({
        kind: 'acquired',
        takeover: false,
        claim: { fence: 2, attempt: 1 },
      });
    });

    it('markDeadLettered keeps the first copy id: true again for it, false for another or another state', async () => {
      const pk = key('dead-copy');
      await deadLettered(pk);
      expect(await store().markDeadLettered(pk, 'copy-1', T0 + 5)).toBe(true);
      expect(await store().get(pk, T0 + 5)).toMatchObject({
        status: 'DEAD_LETTERED',
        deadLetterId: 'copy-1',
        updatedAtMs: T0 + 5,
      });
      expect(await store().markDeadLettered(pk, 'copy-1', T0 + 6)).toBe(true);
      expect(await store().markDeadLettered(pk, 'copy-2', T0 + 7)).toBe(false);
      expect(await store().get(pk, T0 + 7)).toMatchObject({ deadLetterId: 'copy-1', updatedAtMs: T0 + 5 });
      expect(await store().markDeadLettered(pk, 'copy-1', EXPIRY_MS)).toBe(false);
      const failed = key('failed-copy');
      await store().fail(await take(failed), T0, 'boom');
      expect(await store().markDeadLettered(failed, 'copy-1', T0 + 1)).toBe(false);
      expect(await store().markDeadLettered(key('absent-copy'), 'copy-1', T0)).toBe(false);
      expect((await store().get(failed, T0 + 1))?.deadLetterId).toBeUndefined();
    });

    it('reopen (dlq redrive) makes it FAILED without the copy id, and then claimable', async () => {
      const pk = key('dead-reopen');
      await deadLettered(pk);
      await store().markDeadLettered(pk, 'copy-1', T0 + 2);
      expect(await store().reopen(pk, T0 + 3)).toBe(true);
      const reopened = await store().get(pk, T0 + 3);
      expect(reopened).toMatchObject({
        status: 'FAILED',
        updatedAtMs: T0 + 3,
        deadLetterReason: 'PERMANENT_ERROR',
      });
      expect(reopened?.deadLetterId).toBeUndefined();
      expect(await store().reopen(pk, T0 + 4)).toBe(false);
      expect(await store().claim(claimAt(pk, T0 + 5))).toMatchObject({
        kind: 'acquired',
        claim: { fence: 2, attempt: 2 },
      });
      expect(await store().reopen(key('absent-reopen'), T0)).toBe(false);
      const done = key('done-reopen');
      await store().complete(await take(done), T0);
      expect(await store().reopen(done, T0 + 1)).toBe(false);
      expect(await store().get(done, T0 + 1)).toMatchObject({ status: 'COMPLETED' });
    });
  });

  describe('clear and live claims', () => {
    it('skips IN_PROGRESS records whose lease has not lapsed at now, deletes the rest, and can run twice', async () => {
      const base = key('clear-live');
      const live = `${base}/live`;
      const lapsed = `${base}/lapsed`;
      const done = `${base}/done`;
      const dead = `${base}/dead`;
      await take(live, T0 + 20_000);
      await take(lapsed, T0);
      await store().complete(await take(done), T0);
      await deadLettered(dead);
      const now = T0 + LEASE_MS; // lapsed's lease ended exactly now; live's runs on
      expect(await store().clear(`${base}/`, { now })).toEqual({ deleted: 3, skipped: 1 });
      expect(await store().get(live, now)).toMatchObject({ status: 'IN_PROGRESS' });
      for (const pk of [lapsed, done, dead]) expect(await store().get(pk, now)).toBeUndefined();
      expect(await store().clear(`${base}/`, { now })).toEqual({ deleted: 0, skipped: 1 });
      expect(await store().clear(`${base}/`, { now, force: false })).toEqual({ deleted: 0, skipped: 1 });
      expect(await store().clear(`${base}/`, { now, force: true })).toEqual({ deleted: 1, skipped: 0 });
      expect(await store().get(live, now)).toBeUndefined();
    });
  });
}

/** Items planted in the table (wire only): corrupt counters (item 9) and a newer record format. */
export function describePlantedRecords(
  storeOf: () => FullStore,
  subjectOf: () => StoreUnderTest | undefined,
  key: (label: string) => string,
): void {
  const raw = () => {
    const table = subjectOf()?.raw;
    if (!table) throw new Error('this store does not reach its table');
    return table;
  };
  const planted = (pk: string, extra: Record<string, unknown>) => ({
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
    ...extra,
  });

  describe('corrupt but well-typed counters (claimable by state)', () => {
    for (const [name, value] of [
      ['fence', 0],
      ['fence', 1e30],
      ['fence', MAX_COUNTER],
      ['fence', -2],
      ['attempts', 0],
      ['attempts', 1e30],
      ['attempts', Number.MAX_SAFE_INTEGER],
    ] as const) {
      it(`${name} = ${value}: the claim rejects with CorruptRecordError and the item is unchanged`, async () => {
        const pk = key('counter');
        const item = planted(pk, { [name]: value });
        await raw().put(item);
        for (const firstDelivery of [false, true]) {
          const claim = storeOf().claim({ ...claimAt(pk, T0), firstDelivery });
          await expect(claim).rejects.toBeInstanceOf(CorruptRecordError);
          await expect(storeOf().claim(claimAt(pk, T0))).rejects.toMatchObject({
            pk,
            problems: [expect.stringMatching(new RegExp(`^${name}: `))],
          });
        }
        expect(await raw().get(pk)).toEqual(item);
      });
    }
  });

  it('a COMPLETED record at the largest fence still answers duplicate: only a claim would grow it', async () => {
    const pk = key('counter-done');
    await raw().put(planted(pk, { status: 'COMPLETED', fence: MAX_COUNTER }));
    expect(await storeOf().claim(claimAt(pk, T0))).toMatchObject({
      kind: 'duplicate',
      record: { fence: MAX_COUNTER },
    });
  });

  describe('a record of a newer format than this code writes', () => {
    const newer = { formatVersion: RECORD_FORMAT + 1, payloadHash: 'v3:something-else' };

    it('is read, and answered by status only: never payload_mismatch', async () => {
      const pk = key('newer-done');
      const item = planted(pk, {
        status: 'COMPLETED',
        fv: newer.formatVersion,
        payloadHash: newer.payloadHash,
      });
      await raw().put(item);
      const record: Record<string, unknown> = { ...item, formatVersion: newer.formatVersion };
      delete record.fv;
      expect(await storeOf().get(pk, T0)).toEqual(record);
      expect(await storeOf().claim(claimAt(pk, T0, OTHER_HASH))).toEqual({ kind: 'duplicate', record });
    });

    it('a FAILED one with another v2 hash is claimed, and rewritten in this format', async () => {
      const pk = key('newer-failed');
      await raw().put(planted(pk, { fv: newer.formatVersion, payloadHash: HASH }));
      const request = claimAt(pk, T0, OTHER_HASH);
      expect(await storeOf().claim(request)).toEqual({
        kind: 'acquired',
        takeover: false,
        claim: { pk, owner: request.owner, fence: 4, attempt: 4 },
      });
      expect(await raw().get(pk)).toMatchObject({
        fv: RECORD_FORMAT,
        payloadHash: OTHER_HASH,
        status: 'IN_PROGRESS',
      });
    });

    it('a record of this format with another v2 hash is still a payload mismatch', async () => {
      const pk = key('same-format');
      await raw().put(planted(pk, { fv: RECORD_FORMAT }));
      expect(await storeOf().claim(claimAt(pk, T0, OTHER_HASH))).toMatchObject({ kind: 'payload_mismatch' });
    });
  });
}
