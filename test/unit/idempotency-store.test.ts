import {
  CorruptRecordError,
  MAX_PK_BYTES,
  PAYLOAD_HASH_VERSION,
  generationPk,
  isClaimable,
  isExpired,
  isRecordStatus,
  namespacedPk,
  parseRecord,
  recordKey,
  refusal,
  samePayload,
  type IdempotencyRecord,
} from '../../src/core/idempotency-store.js';

/**
 * The pure rules behind every store (core/idempotency-store.ts): which record a claim may take,
 * how a refusal is classified, when a record expires, the record key and the record check. The
 * store contract (test/helpers/store-contract.ts) runs them through real stores; these pin each
 * rule at its boundary, with literal numbers.
 */

const HASH = 'v2:aaaa';
const OTHER_HASH = 'v2:bbbb';

const record: IdempotencyRecord = {
  pk: 'q#k',
  status: 'IN_PROGRESS',
  owner: 'w1:t1',
  fence: 2,
  leaseExpiresAtMs: 10_000,
  expiresAt: 100,
  attempts: 3,
  payloadHash: HASH,
  firstSeenAtMs: 1_000,
  updatedAtMs: 2_000,
};

function withStatus(status: IdempotencyRecord['status']): IdempotencyRecord {
  return { ...record, status };
}

describe('samePayload', () => {
  it('compares hashes of the current version, and never an older one', () => {
    expect(samePayload(HASH, HASH)).toBe(true);
    expect(samePayload(HASH, OTHER_HASH)).toBe(false);
    // A hash written before version 2 (no prefix) hashed another form of the body.
    expect(samePayload('aaaa', OTHER_HASH)).toBe(true);
    // The prefix must start the stored hash, not merely appear in it.
    expect(samePayload('x-v2:aaaa', OTHER_HASH)).toBe(true);
    expect(PAYLOAD_HASH_VERSION).toBe('v2:');
  });
});

describe('refusal (why a claim was refused)', () => {
  it('a different payload is a mismatch whatever the status', () => {
    for (const status of ['IN_PROGRESS', 'COMPLETED', 'FAILED'] as const) {
      const stored = withStatus(status);
      expect(refusal(stored, { payloadHash: OTHER_HASH, now: 0 })).toEqual({
        kind: 'payload_mismatch',
        record: stored,
      });
    }
  });

  it('a completed key is a duplicate; anything else is in progress until its lease', () => {
    const completed = withStatus('COMPLETED');
    expect(refusal(completed, { payloadHash: HASH, now: 0 })).toEqual({
      kind: 'duplicate',
      record: completed,
    });
    for (const status of ['IN_PROGRESS', 'FAILED'] as const) {
      expect(refusal(withStatus(status), { payloadHash: HASH, now: 0 })).toEqual({
        kind: 'in_progress',
        leaseExpiresAtMs: 10_000,
      });
    }
  });

  it('a record of an older hash version answers by its status, never a mismatch', () => {
    const old = { ...withStatus('COMPLETED'), payloadHash: 'aaaa' };
    expect(refusal(old, { payloadHash: OTHER_HASH, now: 0 })).toEqual({ kind: 'duplicate', record: old });
  });
});

describe('isExpired', () => {
  it('counts a record as gone from the second of its expiry on (epoch s against epoch ms)', () => {
    expect(isExpired({ expiresAt: 100 }, 99_999)).toBe(false);
    expect(isExpired({ expiresAt: 100 }, 100_000)).toBe(true);
    expect(isExpired({ expiresAt: 100 }, 100_001)).toBe(true);
    expect(isExpired({ expiresAt: 100.5 }, 100_499)).toBe(false);
  });
});

describe('isClaimable', () => {
  it('takes a FAILED record at once, lease or not, with the same payload only', () => {
    const failed = withStatus('FAILED');
    expect(isClaimable(failed, { payloadHash: HASH, now: 0 })).toBe(true);
    expect(isClaimable(failed, { payloadHash: OTHER_HASH, now: 0 })).toBe(false);
  });

  it('never takes a COMPLETED record, even one whose lease lapsed long ago', () => {
    expect(isClaimable(withStatus('COMPLETED'), { payloadHash: HASH, now: 1e12 })).toBe(false);
  });

  it('takes an IN_PROGRESS record from the moment its lease ends, not before', () => {
    expect(isClaimable(record, { payloadHash: HASH, now: 9_999 })).toBe(false);
    expect(isClaimable(record, { payloadHash: HASH, now: 10_000 })).toBe(true);
    expect(isClaimable(record, { payloadHash: HASH, now: 10_001 })).toBe(true);
    expect(isClaimable(record, { payloadHash: OTHER_HASH, now: 20_000 })).toBe(false);
  });

  it('measures the lease against lapsedBefore when given (now less the skew margin), not now', () => {
    expect(isClaimable(record, { payloadHash: HASH, now: 11_000, lapsedBefore: 9_999 })).toBe(false);
    expect(isClaimable(record, { payloadHash: HASH, now: 11_000, lapsedBefore: 10_000 })).toBe(true);
    expect(isClaimable(record, { payloadHash: HASH, now: 9_000, lapsedBefore: 10_000 })).toBe(true);
  });
});

describe('record keys', () => {
  it('spells a key as <namespace>#<key>, and the generation marker apart from every record', () => {
    expect(recordKey('orders', 'k-1')).toEqual({ pk: 'orders#k-1', hashed: false });
    expect(namespacedPk('orders', 'k-1')).toBe('orders#k-1');
    expect(generationPk('orders')).toBe('#generation#orders');
  });

  it('keeps a key that fits in 2048 bytes of UTF-8, to the byte', () => {
    const fits = 'x'.repeat(MAX_PK_BYTES - 'q#'.length);
    expect(recordKey('q', fits)).toEqual({ pk: `q#${fits}`, hashed: false });
    // 682 three-byte characters and 'q#': 2048 bytes, though 684 units * 3 would not fit.
    const wide = '€'.repeat(682);
    expect(recordKey('q', wide)).toEqual({ pk: `q#${wide}`, hashed: false });
  });

  it('hashes a longer key: sha256 of its UTF-8, in hex, after the namespace', () => {
    const ascii = 'x'.repeat(MAX_PK_BYTES - 1);
    expect(recordKey('q', ascii)).toEqual({
      pk: 'q#sha256:bce5e0f46e87f470eefade45dc62117878a3bbda0dda50c889a56debeaeb3bda',
      hashed: true,
    });
    // 683 three-byte characters: 2051 bytes with 'q#', in only 685 UTF-16 units.
    const wide = '€'.repeat(683);
    expect(recordKey('q', wide)).toEqual({
      pk: 'q#sha256:59cc0fd9ee34d6497fcdcdec7b58ccf4d9d171840a46c1104f2342d756b54a37',
      hashed: true,
    });
    // Up to 6,144 ASCII characters pass the quick length check; they must still be hashed.
    expect(recordKey('q', 'x'.repeat(3000)).hashed).toBe(true);
  });
});

describe('isRecordStatus', () => {
  it('knows the three statuses and nothing else', () => {
    for (const status of ['IN_PROGRESS', 'COMPLETED', 'FAILED']) expect(isRecordStatus(status)).toBe(true);
    for (const other of ['', 'in_progress', 'DONE', 'Stryker was here'])
      expect(isRecordStatus(other)).toBe(false);
  });
});

describe('parseRecord', () => {
  it('returns a well-formed record as it is, optional attributes included, unknown ones dropped', () => {
    const full: IdempotencyRecord = {
      ...record,
      status: 'COMPLETED',
      completedAtMs: 3_000,
      lastError: 'Error: once',
      result: '{"ok":true}',
      key: 'k'.repeat(5000),
    };
    expect(parseRecord(record)).toEqual(record);
    expect(parseRecord({ ...full, ttlNote: 'x' })).toEqual(full);
    // Epoch times need not be whole (the clock is injected); zero is a time too.
    expect(parseRecord({ ...record, leaseExpiresAtMs: 0, updatedAtMs: 2_000.5 })).toMatchObject({
      leaseExpiresAtMs: 0,
      updatedAtMs: 2_000.5,
    });
  });

  it('rejects every wrong attribute at once, naming the pk and each attribute', () => {
    const bad = { ...record, status: 'DONE', fence: 0, attempts: 1.5, owner: '', expiresAt: -1 };
    const error = catchCorrupt(() => parseRecord(bad));
    expect(error.code).toBe('ERR_CORRUPT_RECORD');
    expect(error.pk).toBe('q#k');
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.problems.map((problem) => problem.split(':')[0]).sort()).toEqual([
      'attempts',
      'expiresAt',
      'fence',
      'owner',
      'status',
    ]);
    expect(error.message).toMatch(/^idempotency record q#k is malformed: \w+: .+; \w+: /);
  });

  it('rejects a record missing an attribute, or with an empty pk or hash', () => {
    const noHash = Object.fromEntries(Object.entries(record).filter(([name]) => name !== 'payloadHash'));
    expect(catchCorrupt(() => parseRecord(noHash)).problems).toEqual([
      expect.stringMatching(/^payloadHash: /),
    ]);
    expect(catchCorrupt(() => parseRecord({ ...record, payloadHash: '' })).problems).toHaveLength(1);
    expect(catchCorrupt(() => parseRecord({ ...record, pk: '' })).problems).toHaveLength(1);
    expect(catchCorrupt(() => parseRecord({ ...record, completedAtMs: 'soon' })).problems).toEqual([
      expect.stringMatching(/^completedAtMs: /),
    ]);
  });

  it('says (no pk) and (record) when there is not even an object', () => {
    for (const value of [null, 'text', 42]) {
      const error = catchCorrupt(() => parseRecord(value));
      expect(error.pk).toBe('(no pk)');
      expect(error.problems).toEqual([expect.stringMatching(/^\(record\): /)]);
    }
    expect(catchCorrupt(() => parseRecord({ ...record, pk: 7 })).pk).toBe('(no pk)');
  });
});

function catchCorrupt(parse: () => unknown): CorruptRecordError {
  try {
    parse();
  } catch (error) {
    if (error instanceof CorruptRecordError) return error;
    throw error;
  }
  throw new Error('parsed without complaint');
}
