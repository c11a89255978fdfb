import { PermanentError, RetryableError, StoreUnavailableError } from '../../src/core/errors.js';
import type { HandlerContext } from '../../src/core/handler.js';
import type { IdempotencyStore } from '../../src/core/idempotency-store.js';
import type { LeaseControl } from '../../src/core/lease.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { payloadHash } from '../../src/core/idempotency.js';
import { processMessage } from '../../src/core/pipeline.js';
import { ManualClock, message, pipelineDeps, service } from '../helpers/fakes.js';

describe('processMessage', () => {
  let store: MemoryIdempotencyStore;
  let clock: ManualClock;

  beforeEach(() => {
    store = new MemoryIdempotencyStore();
    clock = new ManualClock();
  });

  it('runs the handler once, completes the record and asks for deletion', async () => {
    const seen: HandlerContext[] = [];
    const deps = pipelineDeps(service(store, clock), (_m, context) => void seen.push(context), clock);
    const result = await processMessage(message('k1'), deps);
    expect(result).toMatchObject({ outcome: 'success', action: 'delete' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ attempt: 1, fencingToken: 1 });
    expect((await store.get('q#k1', clock.now()))?.status).toBe('COMPLETED');
    expect(store.calls).toMatchObject({ claim: 1, complete: 1 });
  });

  it('skips the handler for a completed key and asks for deletion', async () => {
    let runs = 0;
    const deps = pipelineDeps(service(store, clock), () => void (runs += 1), clock);
    await processMessage(message('k1'), deps);
    const again = await processMessage(message('k1'), deps);
    expect(again).toMatchObject({ outcome: 'duplicate', action: 'delete' });
    expect(runs).toBe(1);
  });

  it('releases the message and records the failure when the handler throws', async () => {
    const deps = pipelineDeps(
      service(store, clock),
      () => {
        throw new Error('downstream down');
      },
      clock,
    );
    const result = await processMessage(message('k1'), deps);
    expect(result).toMatchObject({ outcome: 'retry', action: 'release', reason: { code: 'HANDLER_ERROR' } });
    const record = await store.get('q#k1', clock.now());
    expect(record).toMatchObject({ status: 'FAILED', attempts: 1, lastError: 'Error: downstream down' });
  });

  it('lets a failed key be handled on the next delivery, with the attempt counted', async () => {
    let fail = true;
    const attempts: number[] = [];
    const deps = pipelineDeps(
      service(store, clock),
      (_m, context) => {
        attempts.push(context.attempt);
        if (fail) throw new Error('once');
      },
      clock,
    );
    await processMessage(message('k1'), deps);
    fail = false;
    const result = await processMessage(message('k1'), deps);
    expect(result.outcome).toBe('success');
    expect(attempts).toEqual([1, 2]);
  });

  it('dead-letters on PermanentError', async () => {
    const deps = pipelineDeps(
      service(store, clock),
      () => {
        throw new PermanentError('bad order id');
      },
      clock,
    );
    const result = await processMessage(message('k1'), deps);
    expect(result).toMatchObject({
      outcome: 'dead_lettered',
      action: 'dead_letter',
      reason: { code: 'PERMANENT_ERROR', message: 'PermanentError: bad order id' },
    });
  });

  it('dead-letters a completed key that comes back with a different body', async () => {
    const deps = pipelineDeps(service(store, clock), () => {}, clock);
    await processMessage(message('k1', { amount: 1 }), deps);
    const result = await processMessage(message('k1', { amount: 2 }), deps);
    expect(result).toMatchObject({ outcome: 'payload_mismatch', action: 'dead_letter' });
  });

  it('treats bodies that differ only in key order as the same payload', async () => {
    const deps = pipelineDeps(service(store, clock), () => {}, clock);
    await processMessage(message('k1', '{"a":1,"b":2}'), deps);
    const result = await processMessage(message('k1', '{ "b": 2, "a": 1 }'), deps);
    expect(result.outcome).toBe('duplicate');
  });

  it('leaves a key claimed elsewhere until that lease lapses', async () => {
    const other = service(store, clock, 'other');
    await other.claim('k1', payloadHash('{"n":1}'));
    clock.advance(10_000);
    let runs = 0;
    const result = await processMessage(
      message('k1'),
      pipelineDeps(service(store, clock), () => void (runs += 1), clock),
    );
    expect(result).toMatchObject({ outcome: 'retry', action: 'release', retryAfterMs: 20_000 });
    expect(runs).toBe(0);
  });

  it('reports a lost lease when another worker took the key over meanwhile', async () => {
    const mine = service(store, clock, 'mine');
    const theirs = service(store, clock, 'theirs');
    const deps = pipelineDeps(
      mine,
      async (m) => {
        clock.advance(31_000); // the handler outlives its lease...
        await theirs.claim(m.key, payloadHash(m.rawBody));
      },
      clock,
    );
    const result = await processMessage(message('k1'), deps);
    expect(result).toMatchObject({ outcome: 'lease_lost', action: 'delete' });
    expect((await store.get('q#k1', clock.now()))?.status).toBe('IN_PROGRESS');
  });

  it('fails closed when the store is unavailable: no handler, no deletion', async () => {
    const broken: IdempotencyStore = Object.assign(Object.create(store) as IdempotencyStore, {
      claim: async () => {
        throw new StoreUnavailableError('connection refused');
      },
    });
    let runs = 0;
    const result = await processMessage(
      message('k1'),
      pipelineDeps(service(broken, clock), () => void (runs += 1), clock),
    );
    expect(result).toMatchObject({
      outcome: 'retry',
      action: 'release',
      reason: { code: 'STORE_UNAVAILABLE' },
    });
    expect(runs).toBe(0);
  });

  it('rethrows faults that are not store outages', async () => {
    const broken: IdempotencyStore = Object.assign(Object.create(store) as IdempotencyStore, {
      claim: async () => {
        throw new TypeError('bug');
      },
    });
    await expect(
      processMessage(
        message('k1'),
        pipelineDeps(service(broken, clock), () => {}, clock),
      ),
    ).rejects.toThrow(TypeError);
  });
});

/** A hold that grants everything and records what the pipeline asked of it (worker/lease.ts is the real one). */
function recordingLease(options: { stopAfterWaits?: number; takeableInMs?: number } = {}) {
  const calls: string[] = [];
  const retryAttempts: number[] = [];
  const lease: LeaseControl = {
    terms: () => ({ leaseExpiresAtMs: 1_750_000_030_000, lapsedBefore: 1_750_000_000_000 }),
    granted: () => true,
    waitForOther: async () => false,
    settle: () => void calls.push('settle'),
    waitToRetry: async (attempt) => {
      retryAttempts.push(attempt);
      return retryAttempts.length <= (options.stopAfterWaits ?? 0);
    },
    msUntilTakeable: () => options.takeableInMs ?? 4_321,
    startHandler: () => void calls.push('startHandler'),
  };
  return { lease, calls, retryAttempts };
}

/** The store, with complete or fail replaced: each call takes the next answer; an Error is thrown. */
function storeAnswering(
  store: IdempotencyStore,
  method: 'complete' | 'fail',
  answers: (boolean | Error)[],
): IdempotencyStore & { readonly answered: number } {
  let answered = 0;
  const answer = async () => {
    answered += 1;
    const next = answers.shift() ?? true;
    if (next instanceof Error) throw next;
    return next;
  };
  return {
    claim: (request) => store.claim(request),
    renew: (...args) => store.renew(...args),
    complete: method === 'complete' ? answer : (...args) => store.complete(...args),
    fail: method === 'fail' ? answer : (...args) => store.fail(...args),
    markDeadLettered: (...args) => store.markDeadLettered(...args),
    generation: (namespace) => store.generation(namespace),
    get answered() {
      return answered;
    },
  };
}

describe('processMessage: retry hints and store faults after the handler', () => {
  let store: MemoryIdempotencyStore;
  let clock: ManualClock;

  beforeEach(() => {
    store = new MemoryIdempotencyStore();
    clock = new ManualClock();
  });

  it("passes a RetryableError's retryAfterMs on, and gives none for other errors", async () => {
    const thrown = [
      new RetryableError('rate limited', { retryAfterMs: 12_345 }),
      new RetryableError('x'),
      new Error('y'),
    ];
    const results = [];
    for (const [i, error] of thrown.entries()) {
      const deps = pipelineDeps(
        service(store, clock),
        () => {
          throw error;
        },
        clock,
      );
      results.push(await processMessage(message(`k${i}`), deps));
    }
    expect(results[0]).toMatchObject({ outcome: 'retry', action: 'release', retryAfterMs: 12_345 });
    expect(results[1]?.retryAfterMs).toBeUndefined();
    expect(results[2]?.retryAfterMs).toBeUndefined();
  });

  it('measures handlerMs from the handler start, on success and on failure', async () => {
    const ok = await processMessage(
      message('k1'),
      pipelineDeps(service(store, clock), () => clock.advance(250), clock),
    );
    const failed = await processMessage(
      message('k2'),
      pipelineDeps(
        service(store, clock),
        () => {
          clock.advance(750);
          throw new Error('late');
        },
        clock,
      ),
    );
    expect(ok).toMatchObject({ outcome: 'success', handlerMs: 250 });
    expect(failed).toMatchObject({ outcome: 'retry', handlerMs: 750 });
  });

  it('says ABORTED, not HANDLER_ERROR, for a handler that threw after its signal fired', async () => {
    const controller = new AbortController();
    const deps = {
      ...pipelineDeps(
        service(store, clock),
        () => {
          controller.abort();
          throw new Error('stopped');
        },
        clock,
      ),
      signal: controller.signal,
    };
    const result = await processMessage(message('k1'), deps);
    expect(result).toMatchObject({
      outcome: 'retry',
      reason: { code: 'ABORTED', message: 'Error: stopped' },
    });
  });

  it('retries recording a finished result with growing attempt numbers, and settles the lease first', async () => {
    const flaky = storeAnswering(store, 'complete', [
      new StoreUnavailableError('timeout'),
      new StoreUnavailableError('timeout'),
      true,
    ]);
    const { lease, calls, retryAttempts } = recordingLease({ stopAfterWaits: 5 });
    let runs = 0;
    const deps = { ...pipelineDeps(service(flaky, clock), () => void (runs += 1), clock), lease };
    const result = await processMessage(message('k1'), deps);
    expect(result).toMatchObject({ outcome: 'success', action: 'delete' });
    expect(retryAttempts).toEqual([1, 2]);
    expect(flaky.answered).toBe(3);
    expect(calls).toEqual(['startHandler', 'settle']);
    expect(runs).toBe(1);
  });

  it('when stopping mid-retry, releases for as long as our lease may still hold the record', async () => {
    const down = storeAnswering(store, 'complete', [
      new StoreUnavailableError('a'),
      new StoreUnavailableError('b'),
    ]);
    const { lease, retryAttempts } = recordingLease({ stopAfterWaits: 1 });
    const deps = { ...pipelineDeps(service(down, clock), () => {}, clock), lease };
    const result = await processMessage(message('k1'), deps);
    expect(result).toMatchObject({
      outcome: 'retry',
      action: 'release',
      reason: { code: 'STORE_UNAVAILABLE', message: 'b' },
      retryAfterMs: 4_321,
    });
    expect(retryAttempts).toEqual([1, 2]);
  });

  it('a failure that could not be recorded is retried once our lease can be taken over', async () => {
    const down = storeAnswering(store, 'fail', [
      new StoreUnavailableError('a'),
      new StoreUnavailableError('b'),
    ]);
    const { lease } = recordingLease({ takeableInMs: 9_000 });
    const throwing = () => {
      throw new RetryableError('busy', { retryAfterMs: 1 });
    };
    const result = await processMessage(message('k1'), {
      ...pipelineDeps(service(down, clock), throwing, clock),
      lease,
    });
    expect(result).toMatchObject({
      outcome: 'retry',
      reason: { code: 'HANDLER_ERROR' },
      retryAfterMs: 9_000,
    });
    // Without a hold there is nothing to wait for: no hint at all.
    const bare = await processMessage(message('k2'), pipelineDeps(service(down, clock), throwing, clock));
    expect(bare.retryAfterMs).toBeUndefined();
  });

  it('a PermanentError whose failure was not recorded is still dead-lettered', async () => {
    const down = storeAnswering(store, 'fail', [new StoreUnavailableError('timeout')]);
    const result = await processMessage(
      message('k1'),
      pipelineDeps(
        service(down, clock),
        () => {
          throw new PermanentError('bad');
        },
        clock,
      ),
    );
    expect(result).toMatchObject({
      outcome: 'dead_lettered',
      action: 'dead_letter',
      reason: { code: 'PERMANENT_ERROR' },
    });
  });

  it('a store fault on the claim asks to wait until our maybe-written lease lapses', async () => {
    const broken: IdempotencyStore = Object.assign(Object.create(store) as IdempotencyStore, {
      claim: async () => {
        throw new StoreUnavailableError('timeout');
      },
    });
    const { lease } = recordingLease({ takeableInMs: 7_000 });
    const withHold = await processMessage(message('k1'), {
      ...pipelineDeps(service(broken, clock), () => {}, clock),
      lease,
    });
    const without = await processMessage(
      message('k1'),
      pipelineDeps(service(broken, clock), () => {}, clock),
    );
    expect(withHold).toMatchObject({ reason: { code: 'STORE_UNAVAILABLE' }, retryAfterMs: 7_000 });
    expect(without).toMatchObject({ reason: { code: 'STORE_UNAVAILABLE' }, retryAfterMs: 0 });
  });
});
