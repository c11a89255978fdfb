import type { InjectOptions } from 'fastify';
import fc from 'fast-check';
import {
  eventBridgeEvent,
  memberText,
  openEnvelope,
  snsNotification,
  type EnvelopeMode,
} from '../../src/core/envelope.js';
import { payloadHash } from '../../src/core/idempotency.js';
import { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import { toWorkerMessage } from '../../src/core/message.js';
import { processMessage } from '../../src/core/pipeline.js';
import { buildServer } from '../../src/http/server.js';
import type { MessageAttributes, ReceivedMessage } from '../../src/core/queue.js';
import { ManualClock, pipelineDeps, receivedMessage, service } from '../helpers/fakes.js';
import { sidecarDeps } from '../helpers/sidecar.js';

/**
 * Golden samples, written from AWS's documented formats: the SNS notification body an SQS
 * subscription without raw message delivery receives (SNS developer guide, "Amazon SNS message and
 * JSON formats", spacing as SNS writes it), and the EventBridge event an SQS target receives
 * (EventBridge user guide, "Amazon EventBridge events", the EC2 state-change example).
 */
const SNS_DOC = `{
  "Type" : "Notification",
  "MessageId" : "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
  "TopicArn" : "arn:aws:sns:us-west-2:123456789012:MyTopic",
  "Subject" : "My First Message",
  "Message" : "Hello world!",
  "Timestamp" : "2012-05-02T00:54:06.655Z",
  "SignatureVersion" : "1",
  "Signature" : "EXAMPLEw6JRNwm1LFQL4ICB0bnXrdB8ClRMTQFGBqwLpGbM78tJ4etTwC5zU7O3tS6tGpey3ejedNdOJ+1fkIp9F2/LmNVKb5aFlYq+9rk9ZiPph5YlLmWsDcyC5T+Sy9/umic5S0UQc2PEtgdpVBahwNOdMW4JPwk0kAJJztnc=",
  "SigningCertURL" : "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
  "UnsubscribeURL" : "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96"
}`;

/** A JSON Message with every attribute type SNS has, without Subject (SNS then omits it). */
const SNS_ATTRIBUTES = `{
  "Type" : "Notification",
  "MessageId" : "d5b1b7b2-6d1b-5f3e-9a4e-1b2c3d4e5f60",
  "TopicArn" : "arn:aws:sns:eu-west-1:123456789012:orders",
  "Message" : "{\\"orderId\\":9007199254740993,\\"total\\":12.50}",
  "Timestamp" : "2026-11-25T10:00:00.000Z",
  "SignatureVersion" : "2",
  "Signature" : "EXAMPLE",
  "SigningCertURL" : "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-example.pem",
  "UnsubscribeURL" : "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:orders:1",
  "MessageAttributes" : {
    "IdempotencyKey" : {"Type":"String","Value":"order-42"},
    "Priority" : {"Type":"Number","Value":"7"},
    "Regions" : {"Type":"String.Array","Value":"[\\"eu\\",\\"us\\"]"},
    "Thumb" : {"Type":"Binary","Value":"AQID"}
  }
}`;

const SNS_CONFIRMATION = `{
  "Type" : "SubscriptionConfirmation",
  "MessageId" : "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
  "Token" : "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
  "TopicArn" : "arn:aws:sns:us-west-2:123456789012:MyTopic",
  "Message" : "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\\nTo confirm the subscription, visit the SubscribeURL included in this message.",
  "SubscribeURL" : "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37",
  "Timestamp" : "2012-04-26T20:45:04.751Z",
  "SignatureVersion" : "1",
  "Signature" : "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
  "SigningCertURL" : "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
}`;

const EVENTBRIDGE_DOC = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": [
    "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"
  ],
  "detail": {
    "instance-id": " i-1234567890abcdef0",
    "state": "terminated"
  }
}`;

function received(body: string, extra: Partial<ReceivedMessage> = {}): ReceivedMessage {
  return receivedMessage({ messageId: 'sqs-1', body, ...extra });
}

function problemOf(body: string, mode: EnvelopeMode): string {
  const opened = openEnvelope(body, mode);
  if (opened.kind !== 'invalid') throw new Error(`expected invalid, got ${opened.kind}`);
  return opened.problem;
}

/** The SNS sample with one field replaced (undefined: removed). */
function snsWith(field: string, value: unknown): string {
  const o = JSON.parse(SNS_DOC) as Record<string, unknown>;
  if (value === undefined) delete o[field];
  else o[field] = value;
  return JSON.stringify(o);
}

function eventWith(field: string, value: unknown): string {
  const o = JSON.parse(EVENTBRIDGE_DOC) as Record<string, unknown>;
  if (value === undefined) delete o[field];
  else o[field] = value;
  return JSON.stringify(o);
}

describe('openEnvelope: SNS', () => {
  it("opens AWS's documented notification: the Message and the metadata", () => {
    expect(openEnvelope(SNS_DOC, 'sns')).toEqual({
      kind: 'envelope',
      envelope: {
        kind: 'sns',
        id: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
        topicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
        subject: 'My First Message',
        time: '2012-05-02T00:54:06.655Z',
      },
      rawBody: 'Hello world!',
      attributes: {},
    });
  });

  it('types MessageAttributes as SQS does: String, Number and String.Array as text, Binary as bytes', () => {
    const opened = openEnvelope(SNS_ATTRIBUTES, 'sns');
    expect(opened.kind).toBe('envelope');
    if (opened.kind !== 'envelope') return;
    expect(opened.envelope.kind === 'sns' && opened.envelope.subject).toBeUndefined();
    expect(opened.rawBody).toBe('{"orderId":9007199254740993,"total":12.50}');
    expect(opened.attributes).toEqual({
      IdempotencyKey: { dataType: 'String', stringValue: 'order-42' },
      Priority: { dataType: 'Number', stringValue: '7' },
      Regions: { dataType: 'String.Array', stringValue: '["eu","us"]' },
      Thumb: { dataType: 'Binary', binaryValue: Buffer.from([1, 2, 3]) },
    });
  });

  it('keeps an attribute named __proto__ as an attribute', () => {
    const opened = openEnvelope(
      snsWith('MessageAttributes', JSON.parse('{"__proto__":{"Type":"String","Value":"x"}}')),
      'sns',
    );
    expect(opened.kind === 'envelope' && Object.getOwnPropertyNames(opened.attributes)).toEqual([
      '__proto__',
    ]);
  });

  it.each<[string, string, string]>([
    ['not JSON', 'Hello world!', 'expected an SNS notification: the body is not a JSON object'],
    ['a JSON array', '[1,2]', 'expected an SNS notification: the body is not a JSON object'],
    ['truncated JSON', SNS_DOC.slice(0, 100), 'expected an SNS notification: the body is not a JSON object'],
    ['without MessageId', snsWith('MessageId', undefined), 'SNS notification: MessageId is missing'],
    ['with an empty MessageId', snsWith('MessageId', ''), 'SNS notification: MessageId is empty'],
    ['with a numeric MessageId', snsWith('MessageId', 7), 'SNS notification: MessageId is not a string'],
    ['without TopicArn', snsWith('TopicArn', undefined), 'SNS notification: TopicArn is missing'],
    [
      'with a queue ARN as TopicArn',
      snsWith('TopicArn', 'arn:aws:sqs:us-east-1:1:q'),
      'SNS notification: TopicArn is not an SNS ARN',
    ],
    ['without Message', snsWith('Message', undefined), 'SNS notification: Message is missing'],
    ['with an object Message', snsWith('Message', { a: 1 }), 'SNS notification: Message is not a string'],
    ['without Timestamp', snsWith('Timestamp', undefined), 'SNS notification: Timestamp is missing'],
    [
      'with a Timestamp that is no date',
      snsWith('Timestamp', 'yesterday'),
      'SNS notification: Timestamp is not a date',
    ],
    ['with a numeric Subject', snsWith('Subject', 5), 'SNS notification: Subject is not a string'],
    ['without Type', snsWith('Type', undefined), 'SNS notification: Type is missing or not a string'],
    [
      'with MessageAttributes a list',
      snsWith('MessageAttributes', []),
      'SNS notification: MessageAttributes is not an object',
    ],
    [
      'with an attribute without Value',
      snsWith('MessageAttributes', { A: { Type: 'String' } }),
      'SNS notification: MessageAttributes.A is not { Type, Value } strings',
    ],
    [
      'with a Binary attribute that is not base64',
      snsWith('MessageAttributes', { B: { Type: 'Binary', Value: 'no way!' } }),
      'SNS notification: MessageAttributes.B is not base64',
    ],
  ])('rejects a body %s', (_what, body, problem) => {
    expect(problemOf(body, 'sns')).toBe(problem);
  });

  it('rejects a SubscriptionConfirmation (it needs a person, not the handler) without quoting its token', () => {
    const problem = problemOf(SNS_CONFIRMATION, 'sns');
    expect(problem).toBe(
      'SNS SubscriptionConfirmation message, not a Notification (confirm subscriptions by hand)',
    );
    expect(problem).not.toContain('2336412f37');
  });

  it('accepts a null Subject and leaves the signature fields unchecked', () => {
    const o = JSON.parse(SNS_DOC) as Record<string, unknown>;
    o.Subject = null;
    delete o.Signature;
    delete o.SigningCertURL;
    const opened = openEnvelope(JSON.stringify(o), 'sns');
    expect(opened).toMatchObject({ kind: 'envelope', envelope: { subject: undefined } });
  });

  it('never quotes the body in a problem', () => {
    const secret = 'card=4111111111111111';
    expect(problemOf(snsWith('TopicArn', secret), 'sns')).not.toContain('4111');
    expect(problemOf(`{"Type":"${secret}"`, 'sns')).not.toContain('4111');
  });
});

describe('openEnvelope: EventBridge', () => {
  it("opens AWS's documented event: detail as written, and the metadata", () => {
    expect(openEnvelope(EVENTBRIDGE_DOC, 'eventbridge')).toEqual({
      kind: 'envelope',
      envelope: {
        kind: 'eventbridge',
        id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
        source: 'aws.ec2',
        detailType: 'EC2 Instance State-change Notification',
        time: '2017-12-22T18:43:48Z',
        account: '111122223333',
        region: 'us-west-1',
        resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
      },
      rawBody: `{
    "instance-id": " i-1234567890abcdef0",
    "state": "terminated"
  }`,
      attributes: {},
    });
  });

  it('keeps every digit of the detail (no round trip through doubles)', () => {
    const body = EVENTBRIDGE_DOC.replace('"state": "terminated"', '"amount": 12345678901234567890.10');
    const opened = openEnvelope(body, 'eventbridge');
    expect(opened.kind === 'envelope' && opened.rawBody).toContain('12345678901234567890.10');
  });

  it.each<[string, string, string]>([
    ['not JSON', 'detail', 'expected an EventBridge event: the body is not a JSON object'],
    ['without id', eventWith('id', undefined), 'EventBridge event: id is missing'],
    ['without detail-type', eventWith('detail-type', undefined), 'EventBridge event: detail-type is missing'],
    ['with a numeric source', eventWith('source', 1), 'EventBridge event: source is not a string'],
    ['without account', eventWith('account', undefined), 'EventBridge event: account is missing'],
    ['with a time that is no date', eventWith('time', 'soon'), 'EventBridge event: time is not a date'],
    ['without region', eventWith('region', undefined), 'EventBridge event: region is missing'],
    ['without version', eventWith('version', undefined), 'EventBridge event: version is missing'],
    [
      'with resources a string',
      eventWith('resources', 'arn:x'),
      'EventBridge event: resources is not an array of strings',
    ],
    [
      'with resources of numbers',
      eventWith('resources', [1]),
      'EventBridge event: resources is not an array of strings',
    ],
    [
      'without detail',
      eventWith('detail', undefined),
      'EventBridge event: detail is missing or not an object',
    ],
    [
      'with detail a string',
      eventWith('detail', '{"a":1}'),
      'EventBridge event: detail is missing or not an object',
    ],
    [
      'with detail an array',
      eventWith('detail', []),
      'EventBridge event: detail is missing or not an object',
    ],
    ['with detail null', eventWith('detail', null), 'EventBridge event: detail is missing or not an object'],
  ])('rejects a body %s', (_what, body, problem) => {
    expect(problemOf(body, 'eventbridge')).toBe(problem);
  });

  it('rejects an SNS notification when EventBridge is expected, and the other way round', () => {
    expect(problemOf(SNS_DOC, 'eventbridge')).toBe('EventBridge event: version is missing');
    expect(problemOf(EVENTBRIDGE_DOC, 'sns')).toBe('SNS notification: Type is missing or not a string');
  });
});

describe('openEnvelope: none and auto', () => {
  it('none leaves every body alone, envelopes included', () => {
    expect(openEnvelope(SNS_DOC, 'none')).toEqual({ kind: 'plain' });
    expect(openEnvelope(EVENTBRIDGE_DOC, 'none')).toEqual({ kind: 'plain' });
  });

  it('auto tells SNS, EventBridge and plain bodies apart by their shape', () => {
    expect(openEnvelope(SNS_DOC, 'auto')).toMatchObject({ kind: 'envelope', envelope: { kind: 'sns' } });
    expect(openEnvelope(EVENTBRIDGE_DOC, 'auto')).toMatchObject({
      kind: 'envelope',
      envelope: { kind: 'eventbridge' },
    });
    for (const plain of [
      '{"orderId":1}',
      'hello',
      '[1]',
      '',
      '{"TopicArn":"x"}',
      '{"detail-type":"x"}',
      '{"a":',
    ]) {
      expect(openEnvelope(plain, 'auto')).toEqual({ kind: 'plain' });
    }
  });

  it('auto rejects a body that claims to be an envelope but is a broken one', () => {
    expect(problemOf(snsWith('MessageId', undefined), 'auto')).toBe('SNS notification: MessageId is missing');
    expect(problemOf(SNS_CONFIRMATION, 'auto')).toContain('SubscriptionConfirmation');
    expect(problemOf(eventWith('id', undefined), 'auto')).toBe('EventBridge event: id is missing');
  });
});

describe('memberText', () => {
  it('finds the text of a top-level member past strings, escapes and nesting', () => {
    const json = ` { "a" : "}\\"{,", "detail":{"x":[1,{"y":"]"}],"z":"\\\\"} , "detail-x": 1 }`;
    expect(memberText(json, 'detail')).toBe('{"x":[1,{"y":"]"}],"z":"\\\\"}');
    expect(memberText(json, 'a')).toBe('"}\\"{,"');
    expect(memberText(json, 'detail-x')).toBe('1');
    expect(memberText(json, 'missing')).toBeUndefined();
  });

  it('takes the last of duplicate keys, as JSON.parse does, and reads escaped key names', () => {
    expect(memberText('{"detail":{"a":1},"\\u0064etail":{"b":2}}', 'detail')).toBe('{"b":2}');
  });

  it('agrees with JSON.parse on scalars at the end of the object', () => {
    for (const value of ['true', 'null', '-1.5e3', '"s"', '[]', '{}']) {
      const text = memberText(`{"k":${value}}`, 'k');
      expect(text).toBe(value);
      expect(JSON.parse(text as string)).toEqual((JSON.parse(`{"k":${value}}`) as { k: unknown }).k);
    }
  });
});

describe('toWorkerMessage with an envelope', () => {
  const sns = (attributes: MessageAttributes = {}, messageId = 'sqs-1') =>
    toWorkerMessage(received(SNS_ATTRIBUTES, { attributes, messageId }), 'IdempotencyKey', 'sns');

  it('gives the handler the inner message, decoded like a body, and the envelope', () => {
    const m = toWorkerMessage(received(SNS_DOC), 'IdempotencyKey', 'sns');
    expect(m).toMatchObject({
      key: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
      body: 'Hello world!',
      rawBody: 'Hello world!',
      messageId: 'sqs-1',
      envelope: { kind: 'sns', topicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic' },
    });
    expect(m.rejected).toBeUndefined();
    const inner = sns();
    expect(inner.rawBody).toBe('{"orderId":9007199254740993,"total":12.50}');
    expect(inner.body).toMatchObject({ total: 12.5 });
    expect(inner.attributes).toMatchObject({ Priority: '7', Regions: '["eu","us"]' });
  });

  it("keys by the producer's attribute first (SQS's over SNS's), then the envelope id, then the MessageId", () => {
    expect(sns().key).toBe('order-42');
    const sqsKey = { IdempotencyKey: { dataType: 'String', stringValue: 'from-sqs' } };
    expect(sns(sqsKey).key).toBe('from-sqs');
    expect(sns(sqsKey).attributes.IdempotencyKey).toBe('from-sqs');
    expect(toWorkerMessage(received(SNS_DOC), 'IdempotencyKey', 'auto').key).toBe(
      '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    );
    expect(toWorkerMessage(received('{"n":1}'), 'IdempotencyKey', 'auto').key).toBe('sqs-1');
    const event = toWorkerMessage(received(EVENTBRIDGE_DOC), 'IdempotencyKey', 'eventbridge');
    expect(event.key).toBe('6a7e8feb-b491-4cf7-a9f1-bf3703467718');
    expect(event.body).toEqual({ 'instance-id': ' i-1234567890abcdef0', state: 'terminated' });
  });

  it('a redelivery with a new SQS MessageId, Timestamp and Signature has the same key and payload hash', () => {
    const o = JSON.parse(SNS_DOC) as Record<string, unknown>;
    o.Timestamp = '2012-05-02T00:59:06.655Z';
    o.Signature = 'DIFFERENT';
    const first = toWorkerMessage(received(SNS_DOC, { messageId: 'sqs-1' }), 'IdempotencyKey', 'sns');
    const again = toWorkerMessage(
      received(JSON.stringify(o), { messageId: 'sqs-2' }),
      'IdempotencyKey',
      'sns',
    );
    expect(again.key).toBe(first.key);
    expect(payloadHash(again.rawBody)).toBe(payloadHash(first.rawBody));
  });

  it('marks a malformed envelope rejected, with the body left as delivered', () => {
    const m = toWorkerMessage(received('not json'), 'IdempotencyKey', 'sns');
    expect(m).toMatchObject({ key: 'sqs-1', rawBody: 'not json', rejected: { code: 'INVALID_ENVELOPE' } });
    expect(m.envelope).toBeUndefined();
  });
});

describe('processMessage with a rejected message', () => {
  it('dead-letters it with INVALID_ENVELOPE without running the handler, its key left DEAD_LETTERED', async () => {
    const store = new MemoryIdempotencyStore();
    const clock = new ManualClock();
    let runs = 0;
    const deps = pipelineDeps(service(store, clock), () => void (runs += 1), clock);
    const m = toWorkerMessage(received(eventWith('detail', 'x')), 'IdempotencyKey', 'eventbridge');
    const result = await processMessage(m, deps);
    const why = {
      code: 'INVALID_ENVELOPE',
      message: 'EventBridge event: detail is missing or not an object',
    };
    expect(result).toMatchObject({ outcome: 'dead_lettered', action: 'dead_letter', reason: why });
    expect(runs).toBe(0);
    // Recorded before the copy goes, so a redelivery after a failed delete only deletes.
    expect(store.calls).toMatchObject({ claim: 1, fail: 1, complete: 0 });
    expect(await store.get(deps.idempotency.pk(m.key), clock.now())).toMatchObject({
      status: 'DEAD_LETTERED',
      deadLetterReason: 'INVALID_ENVELOPE',
      lastError: why.message,
    });
  });
});

describe('seeding envelopes', () => {
  it('an SNS notification made for a seed opens to what went in', () => {
    const body = snsNotification({
      id: 'n-1',
      topicArn: 'arn:aws:sns:us-east-1:000000000000:seed',
      message: '{"n":1}',
      subject: 'hi',
      attributes: { Team: 'billing' },
      time: '2026-11-25T00:00:00.000Z',
    });
    expect(openEnvelope(body, 'sns')).toEqual({
      kind: 'envelope',
      envelope: {
        kind: 'sns',
        id: 'n-1',
        topicArn: 'arn:aws:sns:us-east-1:000000000000:seed',
        subject: 'hi',
        time: '2026-11-25T00:00:00.000Z',
      },
      rawBody: '{"n":1}',
      attributes: { Team: { dataType: 'String', stringValue: 'billing' } },
    });
  });

  it('an EventBridge event made for a seed opens to its detail, every digit kept', () => {
    const body = eventBridgeEvent({
      id: 'e-1',
      source: 'seed',
      detailType: 'Seeded',
      detail: '{"id":9007199254740993}',
      time: '2026-11-25T00:00:00Z',
      account: '000000000000',
      region: 'us-east-1',
    });
    expect(openEnvelope(body, 'auto')).toMatchObject({
      kind: 'envelope',
      envelope: { kind: 'eventbridge', id: 'e-1', source: 'seed', detailType: 'Seeded', resources: [] },
      rawBody: '{"id":9007199254740993}',
    });
  });
});

describe('envelopes, property-based (fixed seed)', () => {
  const runs = { seed: 14, numRuns: 300 };
  const modes: EnvelopeMode[] = ['none', 'sns', 'eventbridge', 'auto'];

  it('openEnvelope never throws, and says plain, envelope or invalid, whatever the body', () => {
    const body = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify({ Type: 'Notification', TopicArn: v, detail: v })),
      fc
        .constantFrom(SNS_DOC, EVENTBRIDGE_DOC)
        .chain((doc) => fc.nat(doc.length).map((cut) => doc.slice(0, cut))),
    );
    fc.assert(
      fc.property(body, fc.constantFrom(...modes), (text, mode) => {
        const { kind } = openEnvelope(text, mode);
        const allowed = {
          none: ['plain'],
          sns: ['envelope', 'invalid'],
          eventbridge: ['envelope', 'invalid'],
        };
        expect(mode === 'auto' ? ['plain', 'envelope', 'invalid'] : allowed[mode]).toContain(kind);
      }),
      runs,
    );
  });

  it('memberText gives the text of each member, which parses to the value JSON.parse gives', () => {
    const object = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 });
    fc.assert(
      fc.property(object, fc.constantFrom(0, 2, '\t'), (o, indent) => {
        const text = JSON.stringify(o, null, indent);
        const parsed = JSON.parse(text) as Record<string, unknown>;
        for (const key of Object.keys(parsed)) {
          expect(JSON.parse(memberText(text, key) as string)).toEqual(parsed[key]);
        }
      }),
      runs,
    );
  });

  it('an EventBridge event made from any JSON object opens to exactly that text', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 }), fc.uuid(), (detail, id) => {
        const text = JSON.stringify(detail, null, 1);
        const body = eventBridgeEvent({
          id,
          source: 's',
          detailType: 'd',
          detail: text,
          time: '2026-11-25T00:00:00Z',
          account: '1',
          region: 'r',
        });
        expect(openEnvelope(body, 'eventbridge')).toMatchObject({ kind: 'envelope', rawBody: text });
      }),
      runs,
    );
  });
});

describe('POST /seed envelope', () => {
  const post = (payload: object): InjectOptions => ({ method: 'POST', url: '/seed', payload });

  it('passes envelope sns or eventbridge on to the seed, and refuses any other with 400', async () => {
    const d = sidecarDeps();
    const server = buildServer(d);
    expect((await server.inject(post({ count: 2, envelope: 'sns' }))).statusCode).toBe(202);
    const messages = [{ body: { n: 1 }, key: 'k' }];
    expect((await server.inject(post({ messages, envelope: 'eventbridge' }))).statusCode).toBe(202);
    expect(d.seeded).toEqual([
      { count: 2, envelope: 'sns' },
      { messages, envelope: 'eventbridge' },
    ]);
    const refused = await server.inject(post({ count: 2, envelope: 'kafka' }));
    expect(refused.statusCode).toBe(400);
    expect(d.seeded).toHaveLength(2);
  });
});
