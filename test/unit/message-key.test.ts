import { silentLogger } from '../../src/core/logger.js';
import { toWorkerMessage } from '../../src/core/message.js';
import { processMessage } from '../../src/core/pipeline.js';
import type { MessageAttributes, ReceivedMessage } from '../../src/core/queue.js';
import { ManualClock, receivedMessage, service } from '../helpers/fakes.js';

function received(attributes: MessageAttributes): ReceivedMessage {
  return receivedMessage({ messageId: 'mid-1', body: '{"n":1}', attributes });
}

describe('the idempotency key of a message', () => {
  it.each([
    ['a String attribute', { dataType: 'String', stringValue: 'order-1' }, 'order-1'],
    ['a Number attribute', { dataType: 'Number', stringValue: '1.50' }, '1.50'],
    ['a custom String type', { dataType: 'String.uuid', stringValue: 'u' }, 'u'],
    [
      'a Binary attribute, as base64',
      { dataType: 'Binary', binaryValue: Uint8Array.from([0, 255, 1]) },
      'AP8B',
    ],
    ['a custom Binary type', { dataType: 'Binary.gzip', binaryValue: Uint8Array.from([7]) }, 'Bw=='],
  ])('is %s', (_, attribute, key) => {
    const message = toWorkerMessage(received({ IdempotencyKey: attribute }), 'IdempotencyKey');
    expect([message.key, message.rejected]).toEqual([key, undefined]);
  });

  it('is the MessageId when there is no key attribute', () => {
    expect(toWorkerMessage(received({}), 'IdempotencyKey')).toMatchObject({ key: 'mid-1' });
  });

  it.each([
    ['an empty String', { dataType: 'String', stringValue: '' }],
    ['a String without a value', { dataType: 'String' }],
    ['an empty Binary', { dataType: 'Binary', binaryValue: new Uint8Array() }],
    ['a Binary holding text instead of bytes', { dataType: 'Binary', stringValue: 'abc' }],
  ])(
    'never falls back to the MessageId for %s: INVALID_IDEMPOTENCY_KEY, dead-lettered',
    async (_, attribute) => {
      const message = toWorkerMessage(received({ IdempotencyKey: attribute }), 'IdempotencyKey');
      expect(message.rejected?.code).toBe('INVALID_IDEMPOTENCY_KEY');
      let runs = 0;
      const result = await processMessage(message, {
        idempotency: service(),
        handler: () => void (runs += 1),
        logger: silentLogger,
        signal: new AbortController().signal,
        now: () => new ManualClock().now(),
      });
      expect(result).toMatchObject({ outcome: 'dead_lettered', action: 'dead_letter' });
      expect(result.reason?.code).toBe('INVALID_IDEMPOTENCY_KEY');
      expect(runs).toBe(0);
    },
  );
});

describe('a body too deep to walk', () => {
  it('is dead-lettered as BODY_TOO_DEEP before the schema check or the handler sees it', async () => {
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const message = toWorkerMessage({ ...received({}), body: deep }, 'IdempotencyKey');
    let checked = 0;
    const result = await processMessage(message, {
      idempotency: service(),
      handler: () => {
        throw new Error('the handler must not run');
      },
      validate: () => {
        checked += 1;
        return undefined;
      },
      logger: silentLogger,
      signal: new AbortController().signal,
      now: () => new ManualClock().now(),
    });
    expect(result).toMatchObject({ outcome: 'dead_lettered', reason: { code: 'BODY_TOO_DEEP' } });
    expect(checked).toBe(0);
  });
});
