// What opening an SNS or EventBridge envelope (MESSAGE_ENVELOPE) costs per message: the time of
// toWorkerMessage (envelope opened, key derived, body decoded) for the same inner message sent
// plain and sent in each envelope, on the built code (run `npm run build` first).
//
//   node_modules/.bin/node bench/envelope-cost.mjs [iterations]
//
// Prints one JSON line per case: CPU nanoseconds per message (minimum and median of 9 interleaved
// rounds), and the difference from the same inner message delivered plain with
// MESSAGE_ENVELOPE=none: the cost of the feature. `iterations` is for the small message; the
// large one runs as many bytes' worth.
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { eventBridgeEvent, snsNotification } from '../dist/core/envelope.js';
import { toWorkerMessage } from '../dist/core/message.js';

const iterations = Number(process.argv[2] ?? 50_000);
const RUNS = 9;

/** A small order, and a larger one (about 8 KB) with nested lines. */
const inners = {
  small: JSON.stringify({ orderId: 42, customer: 'c-1001', total: 99.5, currency: 'EUR' }),
  '8KB': JSON.stringify({
    orderId: 42,
    lines: Array.from({ length: 80 }, (_, i) => ({
      sku: `SKU-${i}`,
      qty: i % 7,
      price: 1.25 * i,
      note: 'x'.repeat(40),
    })),
  }),
};

function received(body, attributes = {}) {
  return {
    messageId: randomUUID(),
    receiptHandle: 'rh',
    body,
    attributes,
    receiveCount: 1,
    sentAt: 1_750_000_000_000,
    firstReceivedAt: undefined,
    groupId: undefined,
  };
}

function cases(inner) {
  const sns = snsNotification({
    id: randomUUID(),
    topicArn: 'arn:aws:sns:eu-west-1:123456789012:orders',
    message: inner,
    subject: 'order placed',
    attributes: { Team: 'billing', Priority: '7' },
    time: new Date(0).toISOString(),
  });
  const event = eventBridgeEvent({
    id: randomUUID(),
    source: 'com.example.orders',
    detailType: 'OrderPlaced',
    detail: inner,
    time: new Date(0).toISOString(),
    account: '123456789012',
    region: 'eu-west-1',
    resources: ['arn:aws:example:eu-west-1:123456789012:order/42'],
  });
  const plainAttributes = { IdempotencyKey: { dataType: 'String', stringValue: 'order-42' } };
  return [
    ['plain, MESSAGE_ENVELOPE=none (baseline)', received(inner, plainAttributes), 'none'],
    ['plain, MESSAGE_ENVELOPE=auto', received(inner, plainAttributes), 'auto'],
    ['SNS notification, MESSAGE_ENVELOPE=sns', received(sns), 'sns'],
    ['SNS notification, MESSAGE_ENVELOPE=auto', received(sns), 'auto'],
    ['EventBridge event, MESSAGE_ENVELOPE=eventbridge', received(event), 'eventbridge'],
    ['EventBridge event, MESSAGE_ENVELOPE=auto', received(event), 'auto'],
  ];
}

let sink = 0;
function nsPerMessage(message, mode, count) {
  // CPU time, not wall time: on a machine shared with other work, time spent descheduled is not
  // the message's cost.
  const start = process.cpuUsage();
  for (let i = 0; i < count; i += 1) sink += toWorkerMessage(message, 'IdempotencyKey', mode).key.length;
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / count;
}

const sorted = (values) => [...values].sort((a, b) => a - b);

// Rounds interleave the cases, so a burst of load from elsewhere on the machine hits them alike;
// the minimum is the least disturbed figure, the median the typical one.
for (const [size, inner] of Object.entries(inners)) {
  const list = cases(inner);
  const count = Math.max(1000, Math.round((iterations * 64) / Buffer.byteLength(inner)));
  for (const [, message, mode] of list) nsPerMessage(message, mode, count); // warm up every path
  const times = list.map(() => []);
  for (let round = 0; round < RUNS; round += 1) {
    list.forEach(([, message, mode], i) => times[i].push(nsPerMessage(message, mode, count)));
  }
  const [baseMin, baseMedian] = [sorted(times[0])[0], sorted(times[0])[RUNS >> 1]];
  list.forEach(([name, message], i) => {
    const [min, median] = [sorted(times[i])[0], sorted(times[i])[RUNS >> 1]];
    console.log(
      JSON.stringify({
        inner: size,
        innerBytes: Buffer.byteLength(inner),
        bodyBytes: Buffer.byteLength(message.body),
        case: name,
        minNs: Math.round(min),
        medianNs: Math.round(median),
        overBaselineMinNs: Math.round(min - baseMin),
        overBaselineMedianNs: Math.round(median - baseMedian),
      }),
    );
  });
}
if (sink === 0) console.error('unreachable');
