import { Histogram, Registry } from 'prom-client';
import { CorruptRecordError, type Claim } from '../../src/core/idempotency-store.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import {
  TimedIdempotencyStore,
  TimedRecordStore,
  type StoreOperation,
} from '../../src/observability/timed-store.js';

function setup(inner = new MemoryIdempotencyStore()) {
  const registry = new Registry();
  const histogram = new Histogram<'operation' | 'outcome'>({
    name: 'store_seconds',
    help: 'test',
    labelNames: ['operation', 'outcome'],
    registers: [registry],
  });
  const heard: [StoreOperation, string, unknown][] = [];
  const listener = (op: StoreOperation, outcome: string, error?: unknown) => heard.push([op, outcome, error]);
  const store = new TimedIdempotencyStore(inner, histogram, listener);
  const records = new TimedRecordStore(inner, histogram, listener);
  const counts = async () => {
    const metric = (await registry.getMetricsAsJSON())[0];
    const out: Record<string, number> = {};
    for (const v of (metric?.values ?? []) as {
      metricName?: string;
      labels: Record<string, unknown>;
      value: number;
    }[]) {
      if (v.metricName === 'store_seconds_count') out[`${v.labels.operation}/${v.labels.outcome}`] = v.value;
    }
    return out;
  };
  return { store, records, heard, counts };
}

const request = (pk: string, hash = 'v2:h', now = 1000) => ({
  pk,
  payloadHash: hash,
  owner: `w:${Math.random()}`,
  now,
  leaseExpiresAtMs: now + 30_000,
  expiresAt: Math.ceil(now / 1000) + 3600,
});

describe('TimedIdempotencyStore and TimedRecordStore', () => {
  it('times every operation of both interfaces by a bounded outcome', async () => {
    const { store, records, counts } = setup();
    const first = await store.claim(request('q#a'));
    expect(first.kind).toBe('acquired');
    const claim = (first as { claim: Claim }).claim;
    expect(await store.renew(claim, 50_000, 2000)).toBe(true);
    expect(await store.complete(claim, 3000)).toBe(true);
    await store.claim(request('q#a'));
    await store.claim(request('q#a', 'v2:other'));
    await records.get('q#a', 4000);
    await records.get('q#b', 4000);
    await records.list({ prefix: 'q#', limit: 10, now: 4000 });
    await records.clear('q#');
    expect(await store.fail(claim, 5000, 'late')).toBe(false);
    expect(await counts()).toEqual({
      'claim/acquired': 1,
      'renew/ok': 1,
      'complete/ok': 1,
      'claim/duplicate': 1,
      'claim/payload_mismatch': 1,
      'get/found': 1,
      'get/absent': 1,
      'list/ok': 1,
      'clear/ok': 1,
      'fail/lost': 1,
    });
  });

  it('labels a takeover of a lapsed lease apart from a fresh claim', async () => {
    const { store, counts } = setup();
    await store.claim(request('q#a', 'h', 1000));
    const later = await store.claim(request('q#a', 'h', 1000 + 60_000));
    expect(later).toMatchObject({ kind: 'acquired', takeover: true });
    expect(await counts()).toMatchObject({ 'claim/acquired': 1, 'claim/takeover': 1 });
  });

  it('records a thrown error as outcome error, tells the listener, and rethrows it', async () => {
    const inner = new MemoryIdempotencyStore();
    const fault = new StoreUnavailableError('idempotency store get failed: timeout');
    inner.get = async () => {
      throw fault;
    };
    const { records, heard, counts } = setup(inner);
    await expect(records.get('q#a', 1)).rejects.toBe(fault);
    expect(await counts()).toEqual({ 'get/error': 1 });
    expect(heard).toEqual([['get', 'error', fault]]);
  });

  it('counts a claim that found a corrupt record as an error of the hot path', async () => {
    const inner = new MemoryIdempotencyStore();
    const fault = new CorruptRecordError('q#a', ['fence: expected number, received string']);
    inner.claim = async () => {
      throw fault;
    };
    const { store, heard, counts } = setup(inner);
    await expect(store.claim(request('q#a'))).rejects.toBe(fault);
    expect(await counts()).toEqual({ 'claim/error': 1 });
    expect(heard).toEqual([['claim', 'error', fault]]);
  });
});
