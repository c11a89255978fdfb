import { toReceivedMessage } from '../../src/aws/sqs-queue.js';
import { toWorkerMessage } from '../../src/core/message.js';
import { receivedMessage } from '../helpers/fakes.js';

/**
 * SQS allows any name made of letters, digits, `_`, `-` and `.`: `__proto__` and `constructor`
 * are attribute names like any other, and must reach the handler as own properties.
 */
const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

describe('attribute names that are also Object.prototype names', () => {
  it('survive the SQS adapter', () => {
    const received = toReceivedMessage({
      MessageId: 'm-1',
      ReceiptHandle: 'r-1',
      Body: '{}',
      MessageAttributes: Object.fromEntries(
        NAMES.map((name) => [name, { DataType: 'String', StringValue: `v-${name}` }]),
      ),
    });
    for (const name of NAMES) {
      expect(Object.hasOwn(received.attributes, name)).toBe(true);
      expect(received.attributes[name]?.stringValue).toBe(`v-${name}`);
    }
  });

  it('reach the handler as own string attributes', () => {
    const received = receivedMessage({
      attributes: Object.fromEntries(
        NAMES.map((name) => [name, { dataType: 'String', stringValue: `v-${name}` }]),
      ),
    });
    const message = toWorkerMessage(received, 'IdempotencyKey');
    expect(Object.keys(message.attributes).sort()).toEqual([...NAMES].sort());
    for (const name of NAMES) expect(message.attributes[name]).toBe(`v-${name}`);
  });
});
