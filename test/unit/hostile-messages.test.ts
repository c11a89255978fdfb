import { jest } from '@jest/globals';
import { PermanentError } from '../../src/core/errors.js';
import type { MessageAttributes } from '../../src/core/queue.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { observeRuntime } from '../../src/observability/observe.js';
import { MAX_VISIBILITY_MS, PARK_MARGIN_MS } from '../../src/worker/settle-policy.js';
import { MemoryLog } from '../helpers/app.js';
import { twin, until, type Twin } from '../helpers/runtime-twin.js';

/**
 * Issue 12, "Messages": each hostile message the worker used to retry for ever (or handle twice,
 * or answer duplicate wrongly), on the runtime twin.
 */

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

async function send(t: Twin, body: string, attributes: MessageAttributes = {}): Promise<void> {
  await t.queue.send({ body, attributes });
}

const key = (value: string): MessageAttributes => ({
  IdempotencyKey: { dataType: 'String', stringValue: value },
});

/** The dead-letter queue's entries: reason and body. */
function deadLetters(t: Twin): { reason: string | undefined; body: string }[] {
  return t.dlq.peek().map((m) => ({ reason: m.attributes.DeadLetterReason?.stringValue, body: m.body }));
}

describe('hostile messages on the runtime twin', () => {
  it('a key longer than the store allows (2,048-byte record key) is handled once, then a duplicate', async () => {
    const long = `k${'é'.repeat(1500)}`; // 3,001 bytes of UTF-8
    let runs = 0;
    const t = twin(() => void (runs += 1));
    await send(t, '{"n":1}', key(long));
    await send(t, '{"n":1}', key(long));
    await t.runtime.start();
    await until(() => t.settled.length === 2, 'both settled');
    expect(t.outcomes()).toEqual(['success', 'duplicate']);
    expect(runs).toBe(1);
    await t.runtime.stop(1000);
  });

  it('a body nested 20,000 deep is dead-lettered at once as BODY_TOO_DEEP', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    let runs = 0;
    const t = twin(() => void (runs += 1));
    await send(t, deep, key('deep'));
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'settled');
    expect(t.outcomes()).toEqual(['dead_lettered']);
    expect(deadLetters(t)).toEqual([{ reason: 'BODY_TOO_DEEP', body: deep }]);
    expect(runs).toBe(0);
    await t.runtime.stop(1000);
  });

  it('a Binary IdempotencyKey is the key (base64): the producer retry is a duplicate', async () => {
    const keys: string[] = [];
    const t = twin((m) => void keys.push(m.key));
    const binary: MessageAttributes = {
      IdempotencyKey: { dataType: 'Binary', binaryValue: Uint8Array.from([1, 2, 3, 250]) },
    };
    await send(t, '{"n":1}', binary);
    await send(t, '{"n":1}', binary);
    await t.runtime.start();
    await until(() => t.settled.length === 2, 'both settled');
    expect(t.outcomes()).toEqual(['success', 'duplicate']);
    expect(keys).toEqual(['AQID+g==']);
    await t.runtime.stop(1000);
  });

  it('keys of custom types (String.uuid, Number, Binary.raw) are keys too', async () => {
    const keys: string[] = [];
    const t = twin((m) => void keys.push(m.key));
    await send(t, '{"n":1}', {
      IdempotencyKey: { dataType: 'Binary.raw', binaryValue: Uint8Array.from([1]) },
    });
    await send(t, '{"n":2}', { IdempotencyKey: { dataType: 'String.uuid', stringValue: 'u-1' } });
    await send(t, '{"n":3}', { IdempotencyKey: { dataType: 'Number', stringValue: '42' } });
    await t.runtime.start();
    await until(() => t.settled.length === 3, 'all settled');
    expect(t.outcomes()).toEqual(['success', 'success', 'success']);
    expect(keys.sort()).toEqual(['42', 'AQ==', 'u-1']);
    await t.runtime.stop(1000);
  });

  it.each([
    ['integers past 2^53', '{"id":9007199254740993}', '{"id":9007199254740992}'],
    ['decimals past double precision', '{"amount":0.10000000000000000001}', '{"amount":0.1}'],
    ['a JSON string and the same raw text', '"hello"', 'hello'],
  ])('a reused key with different data (%s) is payload_mismatch, not duplicate', async (_, a, b) => {
    let runs = 0;
    const t = twin(() => void (runs += 1));
    await send(t, a, key('reused'));
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'first settled');
    await send(t, b, key('reused'));
    await until(() => t.settled.length === 2, 'second settled');
    expect(t.outcomes()).toEqual(['success', 'payload_mismatch']);
    expect(deadLetters(t)).toEqual([{ reason: 'PAYLOAD_MISMATCH', body: b }]);
    expect(runs).toBe(1);
    await t.runtime.stop(1000);
  });

  it('the same data re-sent with other whitespace and key order is still a duplicate', async () => {
    const t = twin(() => {});
    await send(t, '{"a":9007199254740993,"b":[1.50,"x"]}', key('same'));
    await send(t, ' { "b" : [ 1.50 , "\\u0078" ] , "a" : 9007199254740993 } ', key('same'));
    await t.runtime.start();
    await until(() => t.settled.length === 2, 'both settled');
    expect(t.outcomes()).toEqual(['success', 'duplicate']);
    await t.runtime.stop(1000);
  });

  it('without a dead-letter queue, a poison message comes back only after the longest visibility', async () => {
    let runs = 0;
    const t = twin(
      () => {
        runs += 1;
        throw new PermanentError('nope');
      },
      { noDlq: true },
    );
    await send(t, '{"n":1}', key('poison'));
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'settled');
    expect(t.settled[0]?.processed.reason).toMatchObject({
      code: 'NO_DEAD_LETTER_QUEUE',
      original: 'PERMANENT_ERROR',
    });
    // Not back within the backoff (the old behaviour), nor for nearly 12 hours.
    await jest.advanceTimersByTimeAsync(MAX_VISIBILITY_MS - PARK_MARGIN_MS - 60_000);
    expect(runs).toBe(1);
    expect(t.queue.counts().inFlight).toBe(1);
    await until(() => t.settled.length === 2, 'second delivery', 120_000);
    expect(runs).toBe(2);
    await t.runtime.stop(1000);
  });

  it('without a dead-letter queue, each parking is logged at error with its reason and counted', async () => {
    const log = new MemoryLog();
    const logger = createLogger('info', log);
    const t = twin(() => {}, { noDlq: true, logger });
    const metrics = createMetrics('test');
    observeRuntime(t.runtime, metrics, logger);
    await send(t, '{"n":1}', {
      IdempotencyKey: { dataType: 'Binary', binaryValue: Uint8Array.from([9]) },
    });
    await send(t, `${'{"a":'.repeat(300)}1${'}'.repeat(300)}`);
    await t.runtime.start();
    await until(() => t.settled.length === 2, 'both settled');
    await t.runtime.stop(1000);
    const parked = log.lines().filter((l) => l.reason === 'NO_DEAD_LETTER_QUEUE');
    expect(parked.map((l) => [l.level, l.originalReason])).toEqual([['error', 'BODY_TOO_DEEP']]);
    const counted = await metrics.registry.getSingleMetricAsString('sqs_worker_parked_without_dlq_total');
    expect(counted).toContain('sqs_worker_parked_without_dlq_total{reason="BODY_TOO_DEEP"} 1');
  });
});
