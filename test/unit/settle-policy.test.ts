import type { Processed } from '../../src/core/pipeline.js';
import type { MessageAttributes, ReceivedMessage } from '../../src/core/queue.js';
import { reason } from '../../src/core/reasons.js';
import {
  MAX_VISIBILITY_MS,
  PARK_MARGIN_MS,
  decideSettlement,
  deadLetterAttributes,
  sqsText,
  type PolicyContext,
} from '../../src/worker/settle-policy.js';
import { message } from '../helpers/fakes.js';

function received(attributes: MessageAttributes = {}, extra: Partial<ReceivedMessage> = {}): ReceivedMessage {
  return {
    messageId: 'id-k',
    receiptHandle: 'rh',
    body: '{"n":1}',
    attributes,
    receiveCount: 1,
    sentAt: undefined,
    firstReceivedAt: 123,
    groupId: undefined,
    ...extra,
  };
}

const context: PolicyContext = {
  hasDeadLetterQueue: true,
  shuttingDown: false,
  backoff: { baseMs: 1000, maxMs: 60_000 },
  keyAttribute: 'IdempotencyKey',
  now: 1_000,
  random: () => 1,
};

const permanent: Processed = {
  outcome: 'dead_lettered',
  action: 'dead_letter',
  reason: reason('PERMANENT_ERROR', 'bad order'),
};

describe('decideSettlement (the settle policy)', () => {
  it('deletes what is done, and only that', () => {
    const success: Processed = { outcome: 'success', action: 'delete' };
    expect(decideSettlement(received(), message('k'), success, context).plan).toEqual({ action: 'delete' });
  });

  it('dead-letters a permanent failure with its reason when there is a dead-letter queue', () => {
    const { plan, processed } = decideSettlement(received(), message('k'), permanent, context);
    expect(processed).toBe(permanent);
    expect(plan.action).toBe('dead_letter');
    if (plan.action !== 'dead_letter') return;
    expect(plan.attributes.DeadLetterReason?.stringValue).toBe('PERMANENT_ERROR');
    expect(plan.attributes.DeadLetterMessage?.stringValue).toBe('bad order');
  });

  it('without a dead-letter queue, parks a permanent failure for 12 hours after its receive and says so', () => {
    const { plan, processed } = decideSettlement(received(), message('k'), permanent, {
      ...context,
      hasDeadLetterQueue: false,
      receivedAt: context.now - 60_000,
    });
    expect(processed.outcome).toBe('retry');
    expect(processed.action).toBe('release');
    expect(processed.reason?.code).toBe('NO_DEAD_LETTER_QUEUE');
    expect(processed.reason?.original).toBe('PERMANENT_ERROR');
    expect(processed.reason?.message).toContain('PERMANENT_ERROR: bad order');
    // 12 hours from the receive a minute ago, less the 5-minute margin for SQS's earlier clock:
    // 43,200,000 - 300,000 - 60,000 ms. Literal numbers: an expectation computed from the
    // constants under test would follow them wherever they went.
    expect(plan).toEqual({ action: 'release', delayMs: 42_840_000 });
    expect([MAX_VISIBILITY_MS, PARK_MARGIN_MS]).toEqual([43_200_000, 300_000]);
  });

  it('without a dead-letter queue, parks even while shutting down, and never past 12 hours', () => {
    const { plan } = decideSettlement(received(), message('k'), permanent, {
      ...context,
      hasDeadLetterQueue: false,
      shuttingDown: true,
      receivedAt: context.now - MAX_VISIBILITY_MS,
    });
    expect(plan).toEqual({ action: 'release', delayMs: 0 });
  });

  it('writes DeadLetterMessage in characters SQS accepts, never cutting a surrogate pair in two', () => {
    const emojiAtTheCut = `${'x'.repeat(1023)}😀 and more`;
    const control = 'bad \u0000 byte, \uFFFE, lone \uD800 surrogate';
    for (const [text, expected] of [
      [emojiAtTheCut, 'x'.repeat(1023)],
      [control, 'bad \uFFFD byte, \uFFFD, lone \uFFFD surrogate'],
    ] as const) {
      const failed: Processed = { ...permanent, reason: reason('PERMANENT_ERROR', text) };
      const attributes = deadLetterAttributes(received(), message('k'), failed, context);
      expect(attributes.DeadLetterMessage?.stringValue).toBe(expected);
    }
  });

  it('without a reason, a failure is parked as INTERNAL_ERROR, and a retry still backs off', () => {
    const bare: Processed = { outcome: 'dead_lettered', action: 'dead_letter' };
    const { processed } = decideSettlement(received(), message('k'), bare, {
      ...context,
      hasDeadLetterQueue: false,
    });
    expect(processed.reason?.original).toBe('INTERNAL_ERROR');
    expect(processed.reason?.message).toMatch(/^INTERNAL_ERROR: permanent failure; /);
    const retry: Processed = { outcome: 'retry', action: 'release' };
    expect(decideSettlement(received(), message('k'), retry, context).plan).toEqual({
      action: 'release',
      delayMs: 1000,
    });
  });

  it('releases a retry after the exponential backoff of its receive count', () => {
    const retry: Processed = { outcome: 'retry', action: 'release', reason: reason('HANDLER_ERROR', 'x') };
    const third = message('k', { n: 1 }, { receiveCount: 3 });
    expect(decideSettlement(received(), third, retry, context).plan).toEqual({
      action: 'release',
      delayMs: 4000,
    });
  });

  it("honours the handler's retryAfterMs, and the other owner's lease lapse", () => {
    const retry: Processed = {
      outcome: 'retry',
      action: 'release',
      reason: reason('IN_PROGRESS_ELSEWHERE'),
      retryAfterMs: 7_500,
    };
    expect(decideSettlement(received(), message('k'), retry, context).plan).toEqual({
      action: 'release',
      delayMs: 7_500,
    });
  });

  it('releases at once at shutdown, and what a blocked FIFO group or a stop skipped', () => {
    const retry: Processed = { outcome: 'retry', action: 'release', reason: reason('ABORTED', 'x') };
    expect(
      decideSettlement(received(), message('k'), retry, { ...context, shuttingDown: true }).plan,
    ).toEqual({
      action: 'release',
      delayMs: 0,
    });
    for (const code of ['FIFO_GROUP_BLOCKED', 'SHUTDOWN'] as const) {
      const skipped: Processed = { outcome: 'retry', action: 'release', reason: reason(code) };
      expect(decideSettlement(received(), message('k'), skipped, context).plan).toEqual({
        action: 'release',
        delayMs: 0,
      });
    }
  });
});

describe('deadLetterAttributes', () => {
  it('adds the reason and keeps at most 10 attributes, the idempotency key first', () => {
    const attributes: Record<string, { dataType: string; stringValue: string }> = {};
    for (let i = 0; i < 9; i += 1) attributes[`A${i}`] = { dataType: 'String', stringValue: String(i) };
    attributes.IdempotencyKey = { dataType: 'String', stringValue: 'k' };
    const out = deadLetterAttributes(
      received(attributes),
      message('k'),
      { ...permanent, reason: reason('PERMANENT_ERROR', 'x'.repeat(5000)) },
      context,
    );
    expect(Object.keys(out)).toHaveLength(10);
    // The key first, then the producer's attributes in the message's order, as many as fit.
    expect(Object.keys(out).slice(0, 5)).toEqual(['IdempotencyKey', 'A0', 'A1', 'A2', 'A3']);
    expect(out.IdempotencyKey?.stringValue).toBe('k');
    expect(out.DeadLetterReason?.stringValue).toBe('PERMANENT_ERROR');
    expect(out.DeadLetterMessage?.stringValue).toHaveLength(1024);
    expect(out.DeadLetterAttempts).toEqual({ dataType: 'Number', stringValue: '1' });
    expect(out.FirstReceiveTimestamp?.stringValue).toBe('123');
    expect(out.OriginalMessageId?.stringValue).toBe('id-k');
  });
});

describe('dead-letter attributes without a reason', () => {
  it('say INTERNAL_ERROR, with "-" for a message SQS would refuse empty', () => {
    const bare: Processed = { outcome: 'dead_lettered', action: 'dead_letter' };
    const out = deadLetterAttributes(received(), message('k'), bare, context);
    expect(out.DeadLetterReason).toEqual({ dataType: 'String', stringValue: 'INTERNAL_ERROR' });
    expect(out.DeadLetterMessage).toEqual({ dataType: 'String', stringValue: '-' });
  });
});

describe('sqsText', () => {
  it('cuts before a pair the limit would split, and keeps a whole pair that ends at the limit', () => {
    const x = 'x'.repeat(1023);
    expect(sqsText(`${x}\uD800\uDC00 more`, 1024)).toBe(x); // U+10000: the lowest high surrogate
    expect(sqsText(`${x}\uDBFF\uDFFF more`, 1024)).toBe(x); // U+10FFFF: the highest
    expect(sqsText(`${'x'.repeat(1022)}😀 more`, 1024)).toBe(`${'x'.repeat(1022)}😀`);
  });

  it('replaces a lone high surrogate that ends a text short enough not to be cut', () => {
    expect(sqsText('ab\uD800', 10)).toBe('ab\uFFFD');
    expect(sqsText('ab\uDBFF', 3)).toBe('ab\uFFFD');
  });
});
