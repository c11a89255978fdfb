import { DeleteMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { SeedInputError, seedMessages } from '../../src/seeding/seed.js';
import { fixture, receiveAll, useTestAws, type TestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';

const KEY = 'IdempotencyKey';

/** Receives and deletes until `count` messages came (a FIFO group gives one at a time). */
async function drain(aws: TestAws, queueUrl: string, count: number): Promise<Message[]> {
  const got: Message[] = [];
  await eventually(async () => {
    for (const m of await receiveAll(aws, queueUrl)) {
      got.push(m);
      await aws.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
    return got.length >= count ? true : undefined;
  }, 20_000);
  return got;
}

describe('seedMessages on fauxqs', () => {
  const aws = useTestAws();

  it('sends explicit messages with their keys, attributes and JSON bodies', async () => {
    const f = await fixture(aws);
    const result = await seedMessages(aws.sqs, f.queueUrl, KEY, {
      messages: [
        { body: { order: 1 }, key: 'order-1', attributes: { source: 'test' } },
        { body: 'plain' },
        { body: { order: 1 }, key: 'order-1' },
      ],
    });
    expect(result.sent).toBe(3);
    expect(result).toMatchObject({ unique: 2, duplicates: 1 });
    expect(result.keys[0]).toBe('order-1');
    const got = await drain(aws, f.queueUrl, 3);
    const byKey = got.map((m) => [m.MessageAttributes?.[KEY]?.StringValue ?? m.MessageId, m.Body]);
    expect(byKey).toEqual(
      expect.arrayContaining([
        ['order-1', '{"order":1}'],
        [result.keys[1], 'plain'],
      ]),
    );
    expect(got.find((m) => m.MessageAttributes?.source)?.MessageAttributes?.source?.StringValue).toBe('test');
  });

  it('sends a FIFO group in order, duplicates included (each gets its own deduplication id)', async () => {
    const f = await fixture(aws, { fifo: true });
    await seedMessages(aws.sqs, f.queueUrl, KEY, {
      groupId: 'g1',
      messages: [
        { body: 'a', key: 'k1' },
        { body: 'b', key: 'k2' },
        { body: 'a', key: 'k1' },
      ],
    });
    const got = await drain(aws, f.queueUrl, 3);
    expect(got.map((m) => m.Attributes?.MessageGroupId)).toEqual(['g1', 'g1', 'g1']);
    expect(got.map((m) => m.MessageAttributes?.[KEY]?.StringValue)).toEqual(['k1', 'k2', 'k1']);
  });

  it('sends generated messages to a FIFO queue, one group per key unless groupId says otherwise', async () => {
    const f = await fixture(aws, { fifo: true });
    const result = await seedMessages(aws.sqs, f.queueUrl, KEY, { count: 3, duplicates: 1 });
    expect(result).toMatchObject({ sent: 4, unique: 3, duplicates: 1 });
    const got = await drain(aws, f.queueUrl, 4);
    const groups = new Set(got.map((m) => m.Attributes?.MessageGroupId));
    expect(groups).toEqual(new Set(result.keys));
  });

  it.each([
    [{ count: 1, groupId: 'g' }, false, 'groupId'],
    [{ messages: [{ body: 'x', groupId: 'g' }] }, false, 'messages.0.groupId'],
    [{ messages: [{ body: 'x', delaySeconds: 5 }] }, true, 'messages.0.delaySeconds'],
    [{ messages: [{ body: 'x', attributes: { [KEY]: 'k' } }] }, false, `messages.0.attributes.${KEY}`],
    [
      { messages: [{ body: 'x', attributes: { 'AWS.Trace': 'k' } }] },
      false,
      'messages.0.attributes.AWS.Trace',
    ],
  ])('refuses %j (FIFO: %s) naming %s, before sending anything', async (request, fifo, field) => {
    const f = await fixture(aws, { fifo });
    const error = await seedMessages(aws.sqs, f.queueUrl, KEY, request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeedInputError);
    expect((error as SeedInputError).field).toBe(field);
  });
});
