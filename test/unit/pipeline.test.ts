import { PermanentError, StoreUnavailableError } from '../../src/core/errors.js';
import type { HandlerContext } from '../../src/core/handler.js';
import type { IdempotencyStore } from '../../src/core/idempotency-store.js';
import { MemoryIdempotencyStore } from '../../src/core/memory-store.js';
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
