import { StoreUnavailableError } from '../../src/core/errors.js';
import { MAX_PK_BYTES, recordKey } from '../../src/core/idempotency-store.js';
import {
  HASH,
  LEGACY_HASH,
  OTHER_HASH,
  T0,
  LEASE_MS,
  acquired,
  claimAt,
  type FullStore,
} from './store-contract-dynamodb.js';

/**
 * The store contract's cases for issue 12: keys up to DynamoDB's 2,048-byte record key, longer
 * ones stored under their hash with the key kept, and records whose payload hash was written by
 * the previous version (not compared). Every store runs them: the memory twin enforces the limit
 * as DynamoDB does, so a test on the twin cannot pass a key the table would refuse.
 */
export function describeKeysAndHashes(store: () => FullStore, namespace: string, label: () => string): void {
  describe('record keys and payload hash versions', () => {
    /** A key of `bytes` bytes of UTF-8 (two-byte é after an ASCII label). */
    const keyOf = (bytes: number) => {
      const base = `${label()}-`;
      const rest = bytes - Buffer.byteLength(base);
      return `${base}${'é'.repeat(Math.floor(rest / 2))}${'x'.repeat(rest % 2)}`;
    };

    it('takes a record key of exactly 2,048 bytes as it is, and refuses one byte more', async () => {
      const prefix = `${namespace}#`;
      const fits = keyOf(MAX_PK_BYTES - Buffer.byteLength(prefix));
      const { pk, hashed } = recordKey(namespace, fits);
      expect([Buffer.byteLength(pk), hashed]).toEqual([MAX_PK_BYTES, false]);
      acquired(await store().claim(claimAt(pk, T0)));
      expect(await store().get(pk, T0)).toMatchObject({ pk, status: 'IN_PROGRESS' });
      // ASCII, since dynalite counts UTF-16 code units where DynamoDB counts bytes of UTF-8.
      const over = `${prefix}${'x'.repeat(MAX_PK_BYTES + 1 - prefix.length)}`;
      await expect(store().claim(claimAt(over, T0))).rejects.toBeInstanceOf(StoreUnavailableError);
    });

    it('stores a longer key under its SHA-256, keeping the key itself in the record', async () => {
      const long = keyOf(5000);
      const { pk, hashed } = recordKey(namespace, long);
      expect(hashed).toBe(true);
      expect(pk).toMatch(new RegExp(`^${namespace}#sha256:[0-9a-f]{64}$`));
      const claim = acquired(await store().claim({ ...claimAt(pk, T0), key: long }));
      expect(await store().complete(claim, T0 + 1)).toBe(true);
      expect(await store().get(pk, T0 + 1)).toMatchObject({ pk, key: long, status: 'COMPLETED' });
      expect(await store().claim({ ...claimAt(pk, T0 + 2), key: long })).toMatchObject({ kind: 'duplicate' });
      expect((await store().list({ prefix: pk, limit: 10, now: T0 + 2 })).records).toEqual([
        expect.objectContaining({ pk, key: long }),
      ]);
    });

    it('does not compare a payload hash of the previous version: duplicate, in progress, or claimable', async () => {
      const completed = `${namespace}#${label()}`;
      await store().complete(acquired(await store().claim(claimAt(completed, T0, LEGACY_HASH))), T0);
      expect(await store().claim(claimAt(completed, T0 + 1, HASH))).toMatchObject({ kind: 'duplicate' });

      const running = `${namespace}#${label()}`;
      acquired(await store().claim(claimAt(running, T0, LEGACY_HASH)));
      expect(await store().claim(claimAt(running, T0 + 1, HASH))).toEqual({
        kind: 'in_progress',
        leaseExpiresAtMs: T0 + LEASE_MS,
      });
      // Its lease lapsed: taken over, and the record now carries the new hash.
      acquired(await store().claim(claimAt(running, T0 + LEASE_MS, HASH)));
      expect(await store().get(running, T0 + LEASE_MS)).toMatchObject({ payloadHash: HASH });
      expect(await store().claim(claimAt(running, T0 + LEASE_MS + 1, OTHER_HASH))).toMatchObject({
        kind: 'payload_mismatch',
      });

      const failed = `${namespace}#${label()}`;
      const claim = acquired(await store().claim(claimAt(failed, T0, LEGACY_HASH)));
      await store().fail(claim, T0, 'boom');
      expect(await store().claim(claimAt(failed, T0 + 1, OTHER_HASH))).toMatchObject({ kind: 'acquired' });
    });
  });
}
