import { createHash } from 'node:crypto';

/**
 * How a message's idempotency key becomes the partition key of its record, and the markers that
 * share the table with records. Spelt here only; idempotency-store.ts re-exports it.
 */

/**
 * A key's partition key is `<namespace>#<key>`, so that workers of different queues can share a
 * table. This is the only place that spells it.
 */
export function namespacePrefix(namespace: string): string {
  return `${namespace}#`;
}

/** DynamoDB's limit on a partition key's value, in bytes of UTF-8. */
export const MAX_PK_BYTES = 2048;

/** What a record key holds instead of a key too long for MAX_PK_BYTES: `sha256:` and 64 hex digits. */
export const HASHED_KEY_PREFIX = 'sha256:';

/**
 * The record key of `key`: `<namespace>#<key>`, unless that is longer than MAX_PK_BYTES; then
 * `<namespace>#sha256:<hex of the SHA-256 of the key's UTF-8>`, and `hashed` is true (the record
 * then keeps the key itself in its `key` attribute). Keys that fit are unchanged, so no existing
 * record moves.
 */
export function recordKey(namespace: string, key: string): { readonly pk: string; readonly hashed: boolean } {
  const plain = `${namespacePrefix(namespace)}${key}`;
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most keys are decided without encoding them.
  if (plain.length * 3 <= MAX_PK_BYTES || Buffer.byteLength(plain, 'utf8') <= MAX_PK_BYTES) {
    return { pk: plain, hashed: false };
  }
  const digest = createHash('sha256').update(key, 'utf8').digest('hex');
  return { pk: `${namespacePrefix(namespace)}${HASHED_KEY_PREFIX}${digest}`, hashed: true };
}

export function namespacedPk(namespace: string, key: string): string {
  return recordKey(namespace, key).pk;
}

/** The longest original key a record keeps (characters); a longer one is cut, ending in `…`. */
export const MAX_KEPT_KEY_LENGTH = 4096;

/** Items that are not records start with this; no record's pk does (a namespace has no `#`). */
export const MARKER_PREFIX = '#';

/**
 * Where a namespace's records generation is kept: `records clear` and `forget` bump it, and
 * workers drop their completed-key caches when it changes (see CompletedKeyCache).
 */
export function generationPk(namespace: string): string {
  return `${MARKER_PREFIX}generation#${namespace}`;
}
