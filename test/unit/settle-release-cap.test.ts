import { jest } from '@jest/globals';
import { RetryableError } from '../../src/core/errors.js';
import type { Processed } from '../../src/core/pipeline.js';
import type { ReceivedMessage } from '../../src/core/queue.js';
import { reason } from '../../src/core/reasons.js';
import { decideSettlement, type PolicyContext } from '../../src/worker/settle-policy.js';
import { message, receivedMessage } from '../helpers/fakes.js';
import { FaultyQueue } from '../helpers/faulty-queue.js';
import { delay, until, world, worker } from '../helpers/runtime-twin.js';

const HOUR = 3_600_000;
/** 12 hours less the 5-minute margin: SQS's limit on a visibility counted from the receive. */
const LIMIT_MS = 12 * HOUR - 5 * 60_000;

function at(now: number, receivedAt: number): PolicyContext {
  return {
    hasDeadLetterQueue: true,
    shuttingDown: false,
    backoff: { baseMs: 1000, maxMs: 20 * HOUR },
    keyAttribute: 'IdempotencyKey',
    now,
    receivedAt,
    random: () => 1,
  };
}

function retry(retryAfterMs?: number): Processed {
  return {
    outcome: 'retry',
    action: 'release',
    reason: reason('HANDLER_ERROR', 'try later'),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

const received: ReceivedMessage = receivedMessage();

describe('a release never asks SQS for more than it allows after the receive', () => {
  it('caps a retry asked for 11.5 h after a 1 h run at what is left of the 12 h (issue 19, item 7)', () => {
    const { plan } = decideSettlement(received, message('k'), retry(11.5 * HOUR), at(10 * HOUR, 9 * HOUR));
    expect(plan).toEqual({ action: 'release', delayMs: LIMIT_MS - HOUR });
  });

  it('caps a backoff delay the same way', () => {
    const long = { ...message('k'), receiveCount: 30 };
    const { plan } = decideSettlement(received, long, retry(), at(13 * HOUR, 2 * HOUR));
    expect(plan).toEqual({ action: 'release', delayMs: LIMIT_MS - 11 * HOUR });
    const later = decideSettlement(received, long, retry(), at(14 * HOUR, 2 * HOUR)).plan;
    expect(later).toEqual({ action: 'release', delayMs: 0 });
  });

  it('leaves a delay that fits alone', () => {
    const { plan } = decideSettlement(received, message('k'), retry(90_000), at(HOUR, 0));
    expect(plan).toEqual({ action: 'release', delayMs: 90_000 });
  });

  it('allows exactly the limit on a fresh receive', () => {
    const { plan } = decideSettlement(received, message('k'), retry(13 * HOUR), at(5, 5));
    expect(plan).toEqual({ action: 'release', delayMs: LIMIT_MS });
  });
});

describe('a producer cannot dress its attributes as the worker’s dead-letter reason (item 10)', () => {
  it('drops producer attributes named like ours, so they take no room from the producer’s others', () => {
    const text = (value: string) => ({ dataType: 'String', stringValue: value });
    const forged = receivedMessage({
      attributes: {
        IdempotencyKey: text('k'),
        DeadLetterReason: text('FORGED'),
        OriginalMessageId: text('forged-id'),
        tenant: text('t1'),
        region: text('eu'),
        source: text('shop'),
      },
    });
    const processed: Processed = {
      outcome: 'dead_lettered',
      action: 'dead_letter',
      reason: reason('PERMANENT_ERROR', 'bad'),
    };
    const { plan } = decideSettlement(forged, message('k'), processed, at(1000, 1000));
    if (plan.action !== 'dead_letter') throw new Error(`expected dead_letter, got ${plan.action}`);
    expect(plan.attributes.DeadLetterReason?.stringValue).toBe('PERMANENT_ERROR');
    expect(plan.attributes.OriginalMessageId?.stringValue).toBe(message('k').messageId);
    // Ten attributes at most: five of ours, the key, and all three of the producer's real ones.
    expect(Object.keys(plan.attributes).sort()).toEqual(
      [
        'DeadLetterAttempts',
        'DeadLetterMessage',
        'DeadLetterReason',
        'FirstReceiveTimestamp',
        'IdempotencyKey',
        'OriginalMessageId',
        'region',
        'source',
        'tenant',
      ].sort(),
    );
  });
});

describe('the time held counts on the monotonic clock (items 6 and 7)', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_750_000_000_000 });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('caps a retry after a 1 h run by what is left of the 12 h, though the wall clock stepped back 2 h', async () => {
    const w = world();
    const source = new FaultyQueue(w.queue);
    const one = worker(
      w,
      async () => {
        await delay(HOUR);
        jest.setSystemTime(Date.now() - 2 * HOUR);
        throw new RetryableError('later', { retryAfterMs: 11.5 * HOUR });
      },
      { queue: source },
    );
    await w.send([{ key: 'k' }]);
    await one.runtime.start();
    await until(() => one.settled.length === 1, 'released', 2 * HOUR);
    const release = source.changes.at(-1);
    expect(release?.visibilityTimeoutSeconds).toBe((LIMIT_MS - HOUR) / 1000);
    await one.runtime.stop(1000);
  });
});
