import { PermanentError, StoreUnavailableError } from '../../src/core/errors.js';
import type { HandlerContext } from '../../src/core/handler.js';
import type { ClaimRequest, IdempotencyStore } from '../../src/core/idempotency-store.js';
import type { LeaseControl } from '../../src/core/lease.js';
import type { Logger } from '../../src/core/logger.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { processMessage, type PipelineDeps } from '../../src/core/pipeline.js';
import { payloadHash } from '../../src/core/idempotency.js';
import { ManualClock, message, pipelineDeps, service } from '../helpers/fakes.js';

/**
 * The pipeline's paths for dead-lettering, lost answers and late grants (issue 19), each asserted
 * by its exact result: what mutation testing showed unchecked.
 */

const down = () => new StoreUnavailableError('idempotency store claim failed: 500 (injected)');

/** A logger that keeps its warn lines, with the bindings of the child that wrote them. */
function warnings(): { logger: Logger; lines: { obj: object; msg: string | undefined; bound: object }[] } {
  const lines: { obj: object; msg: string | undefined; bound: object }[] = [];
  const make = (bound: object): Logger => ({
    child: (more) => make({ ...bound, ...more }),
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (obj, msg) => void lines.push({ obj, msg, bound }),
    error: () => {},
  });
  return { logger: make({}), lines };
}

/** The store with chosen methods replaced. */
function storeWith(inner: IdempotencyStore, override: Partial<IdempotencyStore>): IdempotencyStore {
  return {
    claim: (r) => inner.claim(r),
    renew: (...a) => inner.renew(...a),
    complete: (...a) => inner.complete(...a),
    fail: (...a) => inner.fail(...a),
    markDeadLettered: (...a) => inner.markDeadLettered(...a),
    generation: (n) => inner.generation(n),
    ...override,
  };
}

function setup(override: Partial<IdempotencyStore> = {}, handler: PipelineDeps['handler'] = () => undefined) {
  const clock = new ManualClock();
  const memory = new MemoryIdempotencyStore();
  const idempotency = service(storeWith(memory, override), clock);
  const log = warnings();
  const deps: PipelineDeps = { ...pipelineDeps(idempotency, handler, clock), logger: log.logger };
  return { clock, memory, deps, log };
}

const tooDeep = `${'['.repeat(300)}${']'.repeat(300)}`;
const schema = () => ({ code: 'SCHEMA_VIOLATION' as const, message: 'n must be a number' });

describe('invalid messages', () => {
  it('a body too deep to hash is dead-lettered without a claim', async () => {
    const { deps, memory } = setup();
    const result = await processMessage(message('k', tooDeep), deps);
    expect(result).toMatchObject({
      outcome: 'dead_lettered',
      action: 'dead_letter',
      reason: { code: 'BODY_TOO_DEEP' },
    });
    expect(result.recordedDeadLetter).toBeUndefined();
    expect(memory.calls.claim).toBe(0);
  });

  it('an invalid message is still dead-lettered, unrecorded, when the store cannot be reached', async () => {
    const { deps } = setup({ claim: async () => Promise.reject(down()) });
    const result = await processMessage(message('k'), { ...deps, validate: schema });
    expect(result).toEqual({ outcome: 'dead_lettered', action: 'dead_letter', reason: schema() });
  });

  it('a valid message is released, not dead-lettered, when the store cannot be reached', async () => {
    const { deps } = setup({ claim: async () => Promise.reject(down()) });
    const result = await processMessage(message('k'), deps);
    expect(result).toMatchObject({
      outcome: 'retry',
      action: 'release',
      reason: { code: 'STORE_UNAVAILABLE' },
    });
  });

  it('an invalid message whose dead-letter cannot be recorded says so, and goes unrecorded', async () => {
    const { deps, log } = setup({ fail: async () => Promise.reject(down()) });
    const result = await processMessage(message('k'), { ...deps, validate: schema });
    expect(result).toMatchObject({ outcome: 'dead_lettered', reason: schema() });
    expect(result.recordedDeadLetter).toBeUndefined();
    expect(log.lines).toEqual([
      expect.objectContaining({
        obj: { err: expect.any(StoreUnavailableError) },
        msg: 'could not record the dead-letter in the idempotency store',
      }),
    ]);
  });

  it('an invalid message whose claim was lost before the fail is not recorded, and logs nothing', async () => {
    const { deps, log } = setup({ fail: async () => false });
    const result = await processMessage(message('k'), { ...deps, validate: schema });
    expect(result.recordedDeadLetter).toBeUndefined();
    expect(log.lines).toEqual([]);
  });

  it('an invalid message whose key another worker holds is released like any other, not dead-lettered', async () => {
    const { deps, memory, clock } = setup();
    await service(memory, clock, 'other').claim('k', payloadHash('{"n":1}'));
    const result = await processMessage(message('k'), { ...deps, validate: schema });
    // That worker may finish the key (the redelivery is then a duplicate): only it decides.
    expect(result).toMatchObject({ outcome: 'retry', action: 'release' });
    expect(result.reason?.code).not.toBe('SCHEMA_VIOLATION');
  });

  it('an invalid message recorded DEAD_LETTERED names its record', async () => {
    const { deps, memory, clock } = setup();
    const result = await processMessage(message('k'), { ...deps, validate: schema });
    expect(result.recordedDeadLetter).toBe('q#k');
    expect(await memory.get('q#k', clock.now())).toMatchObject({
      status: 'DEAD_LETTERED',
      deadLetterReason: 'SCHEMA_VIOLATION',
      lastError: 'n must be a number',
    });
  });
});

describe('a key already dead-lettered', () => {
  async function deadLettered(
    reasonCode: string | undefined,
    lastError: string | undefined,
    copyId?: string,
  ) {
    const s = setup();
    const now = s.clock.now();
    const claimed = await s.memory.claim({
      pk: 'q#k',
      payloadHash: (await import('../../src/core/idempotency.js')).payloadHash('{"n":1}'),
      owner: 'other:1',
      now,
      leaseExpiresAtMs: now + 30_000,
      expiresAt: now / 1000 + 3600,
    } satisfies ClaimRequest);
    if (claimed.kind !== 'acquired') throw new Error(claimed.kind);
    await s.memory.fail(claimed.claim, now, lastError ?? '', reasonCode ?? 'PERMANENT_ERROR');
    if (copyId !== undefined) await s.memory.markDeadLettered('q#k', copyId, now);
    return s;
  }

  it('with its copy recorded, is deleted as a duplicate without running the handler', async () => {
    const s = await deadLettered('PERMANENT_ERROR', 'bad', 'copy-1');
    let runs = 0;
    const result = await processMessage(message('k'), { ...s.deps, handler: () => void (runs += 1) });
    expect(result).toEqual({ outcome: 'duplicate', action: 'delete' });
    expect(runs).toBe(0);
  });

  it('with no copy recorded, is dead-lettered again with the recorded reason and message', async () => {
    const s = await deadLettered('INVALID_JSON', 'not JSON at 3');
    const result = await processMessage(message('k'), s.deps);
    expect(result).toEqual({
      outcome: 'dead_lettered',
      action: 'dead_letter',
      reason: { code: 'INVALID_JSON', message: 'not JSON at 3' },
      recordedDeadLetter: 'q#k',
    });
  });

  it('a recorded reason this version does not know reads as PERMANENT_ERROR', async () => {
    const s = await deadLettered('SOMETHING_NEWER', 'x');
    const result = await processMessage(message('k'), s.deps);
    expect(result.reason).toEqual({ code: 'PERMANENT_ERROR', message: 'x' });
  });
});

describe('lost answers and late grants', () => {
  function lease(overrides: Partial<LeaseControl> = {}) {
    let n = 0;
    const calls: string[] = [];
    const control: LeaseControl = {
      // Every call asks for a later lease, as the real hold does as time passes.
      terms: () => ({ leaseExpiresAtMs: 1_750_000_047_000 + 1000 * n++, lapsedBefore: 1_750_000_000_000 }),
      granted: () => true,
      waitForOther: async () => false,
      settle: () => void calls.push('settle'),
      waitToRetry: async () => true,
      msUntilTakeable: () => 4_321,
      startHandler: () => void calls.push('startHandler'),
      ...overrides,
    };
    return { control, calls };
  }

  it('a claim tried again after a lost answer asks for the first lease again, with the same owner', async () => {
    const asked: ClaimRequest[] = [];
    let lost = 1;
    const memory = new MemoryIdempotencyStore();
    const { deps } = setup({
      claim: async (request) => {
        asked.push(request);
        const result = await memory.claim(request);
        if (lost-- > 0) throw down();
        return result;
      },
      complete: (...a) => memory.complete(...a),
    });
    const seen: HandlerContext[] = [];
    const hold = lease();
    const result = await processMessage(message('k'), {
      ...deps,
      lease: hold.control,
      handler: (_m, c) => void seen.push(c),
    });
    expect(result.outcome).toBe('success');
    expect(asked).toHaveLength(2);
    expect(asked[1]?.leaseExpiresAtMs).toBe(asked[0]?.leaseExpiresAtMs);
    expect(asked[1]?.owner).toBe(asked[0]?.owner);
    expect(seen[0]).toMatchObject({ fencingToken: 1, attempt: 1 });
  });

  it('a grant that came too late releases the key and retries at once, the handler not run', async () => {
    const failed: string[] = [];
    const memory = new MemoryIdempotencyStore();
    const { deps } = setup({
      claim: (r) => memory.claim(r),
      fail: async (claim, now, error) => {
        failed.push(error);
        return memory.fail(claim, now, error);
      },
    });
    const hold = lease({ granted: () => false });
    let runs = 0;
    const result = await processMessage(message('k'), {
      ...deps,
      lease: hold.control,
      handler: () => void (runs += 1),
    });
    expect(result).toMatchObject({
      outcome: 'retry',
      action: 'release',
      reason: { code: 'LEASE_EXPIRED' },
      retryAfterMs: 0,
    });
    expect(failed).toEqual(['lease ran out before the grant arrived']);
    expect(hold.calls).toEqual(['settle']);
    expect(runs).toBe(0);
  });

  it('a late grant that cannot be released waits until its lease could be taken over, and says why', async () => {
    const { deps, log } = setup({ fail: async () => Promise.reject(down()) });
    const result = await processMessage(message('k'), {
      ...deps,
      lease: lease({ granted: () => false }).control,
    });
    expect(result).toMatchObject({ outcome: 'retry', action: 'release', retryAfterMs: 4_321 });
    expect(log.lines).toEqual([
      expect.objectContaining({
        obj: { err: expect.any(StoreUnavailableError) },
        msg: 'could not release a late grant in the idempotency store',
      }),
    ]);
  });

  it("the handler's logger carries the claim's attempt and fencing token", async () => {
    const { deps, log } = setup({}, (_m, context) => context.logger.warn({ step: 1 }, 'from the handler'));
    await processMessage(message('k'), deps);
    expect(log.lines).toEqual([
      { obj: { step: 1 }, msg: 'from the handler', bound: { attempt: 1, fence: 1 } },
    ]);
  });

  it('without a hold, a complete that fails is released at once, nothing thrown', async () => {
    const { deps } = setup({ complete: async () => Promise.reject(down()) });
    const result = await processMessage(message('k'), deps);
    expect(result).toMatchObject({ outcome: 'retry', action: 'release', retryAfterMs: 0 });
  });

  it('a failure whose claim was lost is released as lease_lost, the error kept', async () => {
    const boom = new Error('downstream');
    const { deps } = setup({ fail: async () => false }, () => {
      throw boom;
    });
    const result = await processMessage(message('k'), deps);
    expect(result).toMatchObject({
      outcome: 'lease_lost',
      action: 'release',
      reason: { code: 'LEASE_LOST' },
    });
    expect(result.error).toBe(boom);
  });

  it('a failure that cannot be recorded says so once; a recorded one says nothing', async () => {
    const failing = setup({ fail: async () => Promise.reject(down()) }, () => {
      throw new PermanentError('bad');
    });
    await processMessage(message('k'), failing.deps);
    expect(failing.log.lines).toEqual([
      expect.objectContaining({
        obj: { err: expect.any(StoreUnavailableError) },
        msg: 'could not record the failure in the idempotency store',
      }),
    ]);
    const fine = setup({}, () => {
      throw new PermanentError('bad');
    });
    await processMessage(message('k'), fine.deps);
    expect(fine.log.lines).toEqual([]);
  });

  it('a payload mismatch names the key and the status it found', async () => {
    const { deps } = setup();
    await processMessage(message('k', { v: 1 }), deps);
    const result = await processMessage(message('k', { v: 2 }), deps);
    expect(result.reason).toEqual({
      code: 'PAYLOAD_MISMATCH',
      message: 'key k was first seen with a different body (status COMPLETED)',
    });
  });
});
