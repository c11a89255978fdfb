import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { batchingHandler, MissingBatchOutcomeError } from '../../src/core/batch-handler.js';
import { PermanentError } from '../../src/core/errors.js';
import type { BatchHandler, BatchOutcome } from '../../src/core/handler.js';
import type { WorkerMessage } from '../../src/core/message.js';
import { resolveHandler } from '../../src/handlers/index.js';
import { twin, until } from '../helpers/runtime-twin.js';

/**
 * handleBatch on the runtime's twins (fake timers): messages are claimed one by one and handed
 * over together; each message is completed, retried or dead-lettered by its own outcome.
 */

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

/** A batch handler that records the keys of each call and answers by `decide`. */
function recording(decide: (message: WorkerMessage) => BatchOutcome = () => ({ result: 'ok' })) {
  const calls: string[][] = [];
  const handleBatch: BatchHandler = (messages) => {
    calls.push(messages.map((m) => m.key));
    return messages.map(decide);
  };
  return { calls, handler: batchingHandler(handleBatch, { windowMs: 10, maxSize: 10 }) };
}

const keys = (n: number, prefix = 'k') => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}` }));

async function stop(t: ReturnType<typeof twin>): Promise<void> {
  const stopped = t.runtime.stop(1000);
  await jest.advanceTimersByTimeAsync(10_000);
  await stopped;
}

describe('handleBatch through the runtime (twins)', () => {
  it('hands the messages of one receive to one call, and completes each key', async () => {
    const { calls, handler } = recording((m) => ({ result: { seen: m.key } }));
    const t = twin(handler);
    await t.send(keys(10));
    await t.runtime.start();
    await until(() => t.settled.length === 10, 'ten settled');
    expect(calls).toHaveLength(1);
    expect([...(calls[0] ?? [])].sort()).toEqual(
      keys(10)
        .map((k) => k.key)
        .sort(),
    );
    expect(t.outcomes()).toEqual(Array.from({ length: 10 }, () => 'success'));
    const record = await t.store.get('work#k3', Date.now());
    expect(record?.status).toBe('COMPLETED');
    expect(record?.result).toBe('{"seen":"k3"}');
    expect(t.queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await stop(t);
  });

  it('retries only the failed messages of a batch, and dead-letters only the permanent failure', async () => {
    const failedOnce = new Set<string>();
    const { calls, handler } = recording((m) => {
      if (m.key === 'k7') return { error: new PermanentError('bad k7') };
      if ((m.key === 'k2' || m.key === 'k5') && !failedOnce.has(m.key)) {
        failedOnce.add(m.key);
        return { error: new Error(`downstream refused ${m.key}`) };
      }
      return { result: null };
    });
    const t = twin(handler, { backoff: { baseMs: 1000, maxMs: 1000 } });
    await t.send(keys(10));
    await t.runtime.start();
    await until(() => t.settled.length === 12, 'every delivery settled');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toHaveLength(10);
    expect([...(calls[1] ?? [])].sort()).toEqual(['k2', 'k5']);
    const byKey = new Map<string, string[]>();
    for (const e of t.settled)
      byKey.set(e.message.key, [...(byKey.get(e.message.key) ?? []), e.processed.outcome]);
    expect(byKey.get('k2')).toEqual(['retry', 'success']);
    expect(byKey.get('k5')).toEqual(['retry', 'success']);
    expect(byKey.get('k7')).toEqual(['dead_lettered']);
    expect(byKey.get('k0')).toEqual(['success']);
    expect(t.dlq.counts().visible).toBe(1);
    expect(t.queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await stop(t);
  });

  it('never hands a duplicate to handleBatch: a completed key is deleted as a duplicate', async () => {
    const { calls, handler } = recording();
    const t = twin(handler);
    await t.send([{ key: 'a', body: '{"n":1}' }]);
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'first settled');
    await t.send([{ key: 'a', body: '{"n":1}' }, { key: 'b' }]);
    await until(() => t.settled.length === 3, 'all settled');
    expect(calls.flat().sort()).toEqual(['a', 'b']);
    expect(t.outcomes().sort()).toEqual(['duplicate', 'success', 'success']);
    await stop(t);
  });

  it('fails every message of a batch when handleBatch throws, and one without an outcome', async () => {
    let call = 0;
    const seen: unknown[] = [];
    const handler = batchingHandler(
      (messages) => {
        call += 1;
        if (call === 1) throw new Error('bulk write failed');
        // Second call: one outcome short.
        return messages.slice(1).map(() => ({}));
      },
      { windowMs: 10, maxSize: 10 },
    );
    const t = twin(handler, { backoff: { baseMs: 60_000, maxMs: 60_000 } });
    t.runtime.on('message_settled', (e) => seen.push(e.processed.error));
    await t.send(keys(3));
    await t.runtime.start();
    await until(() => t.settled.length === 3, 'first batch settled');
    expect(t.outcomes()).toEqual(['retry', 'retry', 'retry']);
    await until(() => t.settled.length === 6, 'second batch settled');
    const second = t.settled.slice(3).map((e) => e.processed.outcome);
    expect(second.filter((o) => o === 'success')).toHaveLength(2);
    expect(second.filter((o) => o === 'retry')).toHaveLength(1);
    expect(seen.slice(3).filter((e) => e instanceof MissingBatchOutcomeError)).toHaveLength(1);
    await stop(t);
  });

  it('sends a batch at once when it is full, and the rest after the window', async () => {
    const sizes: number[] = [];
    const handler = batchingHandler(
      (messages) => {
        sizes.push(messages.length);
        return messages.map(() => ({}));
      },
      { windowMs: 10_000, maxSize: 4 },
    );
    const t = twin(handler, { batchSize: 10 });
    await t.send(keys(10));
    await t.runtime.start();
    await until(() => t.settled.length === 8, 'two full batches');
    expect(sizes).toEqual([4, 4]);
    await until(() => t.settled.length === 10, 'the rest after the window');
    expect(sizes).toEqual([4, 4, 2]);
    await stop(t);
  });

  it("aborts the batch's signal when one message's signal aborts (HANDLER_TIMEOUT)", async () => {
    let batchSignal: AbortSignal | undefined;
    const handler = batchingHandler(
      async (messages, { signal }) => {
        batchSignal = signal;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        return messages.map(() => ({ error: signal.reason as Error }));
      },
      { windowMs: 10, maxSize: 10 },
    );
    const t = twin(handler, { handlerTimeoutMs: 5000, backoff: { baseMs: 60_000, maxMs: 60_000 } });
    await t.send(keys(2));
    await t.runtime.start();
    await until(() => t.settled.length === 2, 'both settled');
    expect(batchSignal?.aborted).toBe(true);
    // Both are retried: the one whose own timeout fired as ABORTED, the other with that error.
    expect(t.outcomes()).toEqual(['retry', 'retry']);
    expect(t.settled.map((e) => e.processed.reason?.code).sort()).toEqual(['ABORTED', 'HANDLER_ERROR']);
    await stop(t);
  });
});

describe('loading handleBatch from a module (HANDLER=path)', () => {
  it('uses handleBatch when the module exports it, with SQS_BATCH_SIZE and HANDLER_BATCH_WINDOW', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'batch-handler-'));
    const path = join(dir, 'bulk.mjs');
    writeFileSync(
      path,
      'export const calls = [];\n' +
        'export function handle() { throw new Error("handle must not run"); }\n' +
        'export function handleBatch(messages) { calls.push(messages.length); return messages.map(() => ({})); }\n',
    );
    const handler = await resolveHandler(path, {
      webhook: { url: undefined, timeoutMs: 1000 },
      handlerBatchWindowMs: 50,
      batchSize: 3,
    });
    const { calls } = (await import(path)) as { calls: number[] };
    const t = twin(handler);
    await t.send(keys(5));
    await t.runtime.start();
    await until(() => t.settled.length === 5, 'five settled');
    expect(calls).toEqual([3, 2]);
    expect(t.outcomes()).toEqual(Array.from({ length: 5 }, () => 'success'));
    await stop(t);
  });
});
