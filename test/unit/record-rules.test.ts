import {
  CorruptRecordError,
  MAX_COUNTER,
  PAYLOAD_HASH_VERSION,
  assertCanGrow,
  RECORD_FORMAT,
  RECORD_STATUSES,
  isClaimable,
  isLiveClaim,
  isOwnWrite,
  ownClaim,
  parseRecord,
  refusal,
  samePayload,
  type IdempotencyRecord,
} from '../../src/core/idempotency-store.js';

/** The pure rules of core/idempotency-store.ts that both stores apply: exact answers for each state. */
const NOW = 1_750_000_000_000;
const HASH = `${PAYLOAD_HASH_VERSION}${'a'.repeat(64)}`;
const OTHER = `${PAYLOAD_HASH_VERSION}${'b'.repeat(64)}`;

function record(extra: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return {
    pk: 'q#k',
    status: 'IN_PROGRESS',
    owner: 'w:1',
    fence: 3,
    leaseExpiresAtMs: NOW + 1000,
    expiresAt: NOW / 1000 + 3600,
    attempts: 2,
    payloadHash: HASH,
    firstSeenAtMs: NOW - 5000,
    updatedAtMs: NOW - 10,
    ...extra,
  };
}

describe('record statuses and format', () => {
  it('lists the four statuses, DEAD_LETTERED last, and writes format 2', () => {
    expect(RECORD_STATUSES).toEqual(['IN_PROGRESS', 'COMPLETED', 'FAILED', 'DEAD_LETTERED']);
    expect(RECORD_FORMAT).toBe(2);
  });

  it('reads a DEAD_LETTERED record with its reason, copy id and format', () => {
    const dead = record({
      status: 'DEAD_LETTERED',
      deadLetterReason: 'PERMANENT_ERROR',
      deadLetterId: 'm-9',
      formatVersion: 2,
    });
    expect(parseRecord(dead)).toEqual(dead);
  });

  it.each([
    ['fence', 0],
    ['fence', 1e30],
    ['fence', Number.MAX_SAFE_INTEGER],
    ['fence', -1],
    ['fence', 1.5],
    ['attempts', 0],
    ['attempts', 2 ** 53],
    ['formatVersion', 0],
  ])('rejects %s = %p: a counter must be a whole number from 1 that can still grow', (name, value) => {
    expect(() => parseRecord({ ...record(), [name]: value })).toThrow(new RegExp(`${name}: `));
  });

  it('reads counts up to MAX_COUNTER (one below MAX_SAFE_INTEGER), and refuses to grow them past it', () => {
    expect(MAX_COUNTER).toBe(Number.MAX_SAFE_INTEGER - 1);
    expect(parseRecord(record({ fence: MAX_COUNTER })).fence).toBe(MAX_COUNTER);
    expect(() => assertCanGrow(record({ fence: MAX_COUNTER - 1, attempts: MAX_COUNTER - 1 }))).not.toThrow();
    expect(() => assertCanGrow(record({ fence: MAX_COUNTER }))).toThrow(CorruptRecordError);
    let caught: unknown;
    try {
      assertCanGrow(record({ fence: MAX_COUNTER, attempts: MAX_COUNTER }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      pk: 'q#k',
      problems: [
        `fence: ${MAX_COUNTER} cannot grow past ${MAX_COUNTER}`,
        `attempts: ${MAX_COUNTER} cannot grow past ${MAX_COUNTER}`,
      ],
    });
    expect(() => assertCanGrow(record({ attempts: MAX_COUNTER }))).toThrow(
      /^idempotency record q#k is malformed: attempts: /,
    );
  });
});

describe('refusal and isClaimable', () => {
  const request = { payloadHash: HASH, now: NOW };

  it('answers each state exactly', () => {
    expect(refusal(record({ status: 'COMPLETED' }), request)).toEqual({
      kind: 'duplicate',
      record: record({ status: 'COMPLETED' }),
    });
    const dead = record({ status: 'DEAD_LETTERED', deadLetterReason: 'PERMANENT_ERROR' });
    expect(refusal(dead, request)).toEqual({ kind: 'dead_lettered', record: dead });
    expect(refusal(record(), request)).toEqual({ kind: 'in_progress', leaseExpiresAtMs: NOW + 1000 });
    expect(refusal(dead, { ...request, payloadHash: OTHER })).toEqual({
      kind: 'payload_mismatch',
      record: dead,
    });
  });

  it('never claims DEAD_LETTERED or COMPLETED, not even with the lease long lapsed', () => {
    for (const status of ['DEAD_LETTERED', 'COMPLETED'] as const) {
      expect(isClaimable(record({ status, leaseExpiresAtMs: NOW - 60_000 }), request)).toBe(false);
    }
    expect(isClaimable(record({ status: 'FAILED', leaseExpiresAtMs: NOW + 60_000 }), request)).toBe(true);
    expect(isClaimable(record({ status: 'FAILED' }), { ...request, payloadHash: OTHER })).toBe(false);
  });

  it('takes a lease over exactly when it ended at or before lapsedBefore (default now)', () => {
    expect(isClaimable(record({ leaseExpiresAtMs: NOW }), request)).toBe(true);
    expect(isClaimable(record({ leaseExpiresAtMs: NOW + 1 }), request)).toBe(false);
    expect(isClaimable(record({ leaseExpiresAtMs: NOW }), { ...request, lapsedBefore: NOW - 1 })).toBe(false);
    expect(isClaimable(record({ leaseExpiresAtMs: NOW - 1 }), { ...request, lapsedBefore: NOW - 1 })).toBe(
      true,
    );
  });

  it('tells a live claim: IN_PROGRESS with a lease ending after now', () => {
    expect(isLiveClaim(record({ leaseExpiresAtMs: NOW + 1 }), NOW)).toBe(true);
    expect(isLiveClaim(record({ leaseExpiresAtMs: NOW }), NOW)).toBe(false);
    expect(isLiveClaim(record({ status: 'FAILED', leaseExpiresAtMs: NOW + 1 }), NOW)).toBe(false);
  });
});

describe('samePayload across formats', () => {
  it('compares v2 hashes of this format or older, and not legacy hashes', () => {
    expect(samePayload(HASH, HASH)).toBe(true);
    expect(samePayload(HASH, OTHER)).toBe(false);
    expect(samePayload(HASH, OTHER, RECORD_FORMAT)).toBe(false);
    expect(samePayload(HASH, OTHER, 1)).toBe(false);
    expect(samePayload('c'.repeat(64), OTHER)).toBe(true);
  });

  it('never compares with a record of a newer format: status only', () => {
    expect(samePayload(HASH, OTHER, RECORD_FORMAT + 1)).toBe(true);
    const newer = record({ status: 'COMPLETED', formatVersion: RECORD_FORMAT + 1 });
    expect(refusal(newer, { payloadHash: OTHER, now: NOW })).toEqual({ kind: 'duplicate', record: newer });
    const failed = record({ status: 'FAILED', formatVersion: RECORD_FORMAT + 1 });
    expect(isClaimable(failed, { payloadHash: OTHER, now: NOW })).toBe(true);
  });
});

describe('own writes (isOwnWrite, ownClaim)', () => {
  const owner = 'w:1';

  it('a complete is ours when the record is COMPLETED under our owner, and only then', () => {
    expect(isOwnWrite(record({ status: 'COMPLETED' }), { kind: 'complete', owner })).toBe(true);
    expect(isOwnWrite(record({ status: 'COMPLETED', owner: 'w:2' }), { kind: 'complete', owner })).toBe(
      false,
    );
    for (const status of ['IN_PROGRESS', 'FAILED', 'DEAD_LETTERED'] as const) {
      expect(isOwnWrite(record({ status }), { kind: 'complete', owner })).toBe(false);
    }
    expect(isOwnWrite(undefined, { kind: 'complete', owner })).toBe(false);
  });

  it('a fail is ours in FAILED, or in DEAD_LETTERED when it gave a reason', () => {
    const failed = record({ status: 'FAILED' });
    const dead = record({ status: 'DEAD_LETTERED' });
    expect(isOwnWrite(failed, { kind: 'fail', owner, deadLettered: false })).toBe(true);
    expect(isOwnWrite(dead, { kind: 'fail', owner, deadLettered: true })).toBe(true);
    expect(isOwnWrite(failed, { kind: 'fail', owner, deadLettered: true })).toBe(false);
    expect(isOwnWrite(dead, { kind: 'fail', owner, deadLettered: false })).toBe(false);
    expect(isOwnWrite(record({ status: 'COMPLETED' }), { kind: 'fail', owner, deadLettered: false })).toBe(
      false,
    );
    expect(
      isOwnWrite(record({ status: 'FAILED', owner: 'w:2' }), { kind: 'fail', owner, deadLettered: false }),
    ).toBe(false);
  });

  it('a renew is ours when IN_PROGRESS under our owner with at least the lease asked for', () => {
    const renew = { kind: 'renew', owner, leaseExpiresAtMs: NOW + 1000 } as const;
    expect(isOwnWrite(record(), renew)).toBe(true);
    expect(isOwnWrite(record({ leaseExpiresAtMs: NOW + 1001 }), renew)).toBe(true);
    expect(isOwnWrite(record({ leaseExpiresAtMs: NOW + 999 }), renew)).toBe(false);
    expect(isOwnWrite(record({ status: 'COMPLETED' }), renew)).toBe(false);
    expect(isOwnWrite(record({ owner: 'w:2' }), renew)).toBe(false);
  });

  it('a claim is ours when IN_PROGRESS under our owner: the stored fence and attempts, extended only when shorter', () => {
    const claim = { pk: 'q#k', owner, fence: 3, attempt: 2 };
    expect(ownClaim(record(), { owner, leaseExpiresAtMs: NOW + 1000 })).toEqual({ claim, extend: false });
    expect(ownClaim(record(), { owner, leaseExpiresAtMs: NOW + 999 })).toEqual({ claim, extend: false });
    expect(ownClaim(record(), { owner, leaseExpiresAtMs: NOW + 1001 })).toEqual({ claim, extend: true });
    expect(ownClaim(record({ owner: 'w:2' }), { owner, leaseExpiresAtMs: NOW })).toBeUndefined();
    for (const status of ['COMPLETED', 'FAILED', 'DEAD_LETTERED'] as const) {
      expect(ownClaim(record({ status }), { owner, leaseExpiresAtMs: NOW })).toBeUndefined();
    }
  });
});
