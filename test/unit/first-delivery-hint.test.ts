import type { Claim, ClaimRequest, ClaimResult, IdempotencyStore } from '../../src/core/idempotency-store.js';
import type { LeaseControl } from '../../src/core/lease.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { payloadHash } from '../../src/core/idempotency.js';
import { processMessage } from '../../src/core/pipeline.js';
import { ManualClock, message, pipelineDeps, service } from '../helpers/fakes.js';

/** The memory store, keeping every claim request it was given. */
class RecordingStore implements IdempotencyStore {
  readonly requests: ClaimRequest[] = [];
  constructor(readonly inner = new MemoryIdempotencyStore()) {}
  claim(request: ClaimRequest): Promise<ClaimResult> {
    this.requests.push(request);
    return this.inner.claim(request);
  }
  renew(claim: Claim, leaseExpiresAtMs: number, now: number, expiresAt?: number): Promise<boolean> {
    return this.inner.renew(claim, leaseExpiresAtMs, now, expiresAt);
  }
  complete(claim: Claim, now: number, result?: string, expiresAt?: number): Promise<boolean> {
    return this.inner.complete(claim, now, result, expiresAt);
  }
  fail(claim: Claim, now: number, error: string, deadLetterReason?: string): Promise<boolean> {
    return this.inner.fail(claim, now, error, deadLetterReason);
  }
  markDeadLettered(pk: string, copyId: string, now: number): Promise<boolean> {
    return this.inner.markDeadLettered(pk, copyId, now);
  }
  generation(namespace: string): Promise<number> {
    return this.inner.generation(namespace);
  }
}

/** A hold on the message that waits for another owner's lease by moving the clock past it. */
function leaseControl(clock: ManualClock): LeaseControl {
  return {
    terms: () => ({ leaseExpiresAtMs: clock.now() + 30_000, lapsedBefore: clock.now() }),
    granted: () => true,
    waitForOther: async (leaseExpiresAtMs) => {
      clock.advance(Math.max(0, leaseExpiresAtMs - clock.now()));
      return true;
    },
    startHandler: () => undefined,
    settle: () => undefined,
    waitToRetry: async () => false,
    msUntilTakeable: () => 0,
  };
}

describe('the first-delivery hint (ClaimRequest.firstDelivery)', () => {
  let clock: ManualClock;
  let store: RecordingStore;

  beforeEach(() => {
    clock = new ManualClock();
    store = new RecordingStore();
  });

  it("is given with a message's first receive, and the key is handled as without it", async () => {
    const result = await processMessage(
      message('k1', { n: 1 }, { receiveCount: 1 }),
      pipelineDeps(service(store, clock), () => undefined, clock),
    );
    expect(result).toMatchObject({ outcome: 'success', claim: { fence: 1, attempt: 1 } });
    expect(store.requests.map((r) => r.firstDelivery)).toEqual([true]);
  });

  it('is not given with a redelivery, whose key is more likely stored already', async () => {
    await processMessage(
      message('k1', { n: 1 }, { receiveCount: 2 }),
      pipelineDeps(service(store, clock), () => undefined, clock),
    );
    expect(store.requests.map((r) => r.firstDelivery)).toEqual([undefined]);
  });

  it('is not given again once the delivery found the key held elsewhere', async () => {
    const other = service(store, clock, 'other');
    acquiredBy(await other.claim('k1', payloadHash('{"n":1}')));
    let runs = 0;
    const result = await processMessage(message('k1', { n: 1 }, { receiveCount: 1 }), {
      ...pipelineDeps(service(store, clock), () => void (runs += 1), clock),
      lease: leaseControl(clock),
    });
    expect(result).toMatchObject({ outcome: 'success', claim: { fence: 2, attempt: 2 } });
    expect(runs).toBe(1);
    // The other worker's claim, this delivery's hinted one (in progress), its retry after the wait.
    expect(store.requests.map((r) => r.firstDelivery)).toEqual([undefined, true, undefined]);
  });

  it('is not given by IdempotencyService.claim unless asked for', async () => {
    const idempotency = service(store, clock);
    await idempotency.claim('k1', payloadHash('{"n":1}'));
    await idempotency.claim('k2', payloadHash('{"n":1}'), {}, true);
    expect(store.requests.map((r) => [r.pk, r.firstDelivery])).toEqual([
      ['q#k1', undefined],
      ['q#k2', true],
    ]);
  });
});

function acquiredBy(result: ClaimResult): Claim {
  if (result.kind !== 'acquired') throw new Error(`expected acquired, got ${result.kind}`);
  return result.claim;
}
