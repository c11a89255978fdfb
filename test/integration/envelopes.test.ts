import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { MessageEvent } from '../../src/core/events.js';
import type { WorkerMessage } from '../../src/core/message.js';
import type { WorkerRuntime } from '../../src/worker/runtime.js';
import { SEED_EVENT_SOURCE, SEED_TOPIC_ARN } from '../../src/seeding/envelopes.js';
import { seedMessages } from '../../src/seeding/seed.js';
import {
  fixture,
  queueCounts,
  receiveAll,
  runtime,
  send,
  useTestAws,
  type Fixture,
  type TestAws,
} from '../helpers/aws.js';
import { eventually, runCli } from '../helpers/process.js';

/**
 * MESSAGE_ENVELOPE on the runtime as `start` builds it, on fauxqs and dynalite. The SNS envelope
 * is made by fauxqs's own SNS (a topic with an SQS subscription without raw delivery), not by us;
 * a second subscription's copy of the same notification, sent again, is what an SNS redelivery
 * looks like: the same notification under a new SQS MessageId. fauxqs has no EventBridge: its
 * event is AWS's documented sample.
 */

/** One call of the SNS Query API on fauxqs (what the AWS SDK's SNS client sends, unsigned). */
async function sns(aws: TestAws, params: Record<string, string>): Promise<string> {
  const response = await fetch(aws.emulators.sqsEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`SNS ${params.Action}: ${response.status} ${text}`);
  return text;
}

const xmlField = (xml: string, name: string): string => {
  const match = new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml);
  if (!match?.[1]) throw new Error(`no ${name} in ${xml}`);
  return match[1];
};

async function queueArn(aws: TestAws, queueUrl: string): Promise<string> {
  const out = await aws.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  return out.Attributes?.QueueArn ?? '';
}

/** A topic whose notifications reach `queues` without raw delivery, as SNS sends them by default. */
async function topicTo(aws: TestAws, name: string, queueUrls: readonly string[]): Promise<string> {
  const topicArn = xmlField(await sns(aws, { Action: 'CreateTopic', Name: name }), 'TopicArn');
  for (const url of queueUrls) {
    await sns(aws, {
      Action: 'Subscribe',
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: await queueArn(aws, url),
    });
  }
  return topicArn;
}

/** What the handler saw, and the settled events. */
function recorder(worker: WorkerRuntime) {
  const events: MessageEvent[] = [];
  worker.on('message_settled', (event) => events.push(event));
  return {
    events,
    until: (count: number) =>
      eventually(async () => (events.length >= count ? events : undefined), 30_000, 20),
  };
}

const outcomes = (events: readonly MessageEvent[]) => events.map((e) => e.processed.outcome).sort();

/** AWS's documented EventBridge event (EC2 state change), with a detail that keeps big digits. */
const EVENT = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"111122223333","time":"2017-12-22T18:43:48Z","region":"us-west-1","resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],"detail":{"instance-id":"i-1234567890abcdef0","state":"terminated","seq":12345678901234567890}}`;

describe('SNS and EventBridge envelopes on fauxqs and dynalite', () => {
  const aws = useTestAws();
  const running: WorkerRuntime[] = [];

  afterEach(async () => {
    await Promise.all(running.splice(0).map((w) => w.stop(0)));
  });

  async function start(
    f: Fixture,
    envelope: string,
    seen: WorkerMessage[],
  ): Promise<ReturnType<typeof recorder>> {
    const worker = await runtime(aws, f, (m) => void seen.push(m), { env: { MESSAGE_ENVELOPE: envelope } });
    running.push(worker);
    const rec = recorder(worker);
    await worker.start();
    return rec;
  }

  it('handles an SNS notification once when it is delivered twice with different SQS MessageIds', async () => {
    const f = await fixture(aws);
    const tap = await fixture(aws);
    const topicArn = await topicTo(aws, `${f.name}-topic`, [f.queueUrl, tap.queueUrl]);
    const published = await sns(aws, {
      Action: 'Publish',
      TopicArn: topicArn,
      Subject: 'order placed',
      Message: '{"orderId":42}',
      'MessageAttributes.entry.1.Name': 'Team',
      'MessageAttributes.entry.1.Value.DataType': 'String',
      'MessageAttributes.entry.1.Value.StringValue': 'billing',
    });
    const snsMessageId = xmlField(published, 'MessageId');
    // SNS delivering the same notification again: the tap's copy, sent to the worker's queue.
    const [copy] = await eventually(async () => {
      const found = await receiveAll(aws, tap.queueUrl);
      return found.length > 0 ? found : undefined;
    });
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: f.queueUrl, MessageBody: copy?.Body ?? '' }));

    const seen: WorkerMessage[] = [];
    const rec = await start(f, 'sns', seen);
    await rec.until(2);
    expect(outcomes(rec.events)).toEqual(['duplicate', 'success']);
    const [first, second] = rec.events.map((e) => e.message);
    expect(first?.messageId).not.toBe(second?.messageId);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      key: snsMessageId,
      body: { orderId: 42 },
      rawBody: '{"orderId":42}',
      attributes: { Team: 'billing' },
      envelope: { kind: 'sns', id: snsMessageId, topicArn, subject: 'order placed' },
    });
    await eventually(async () => {
      const counts = await queueCounts(aws, f.queueUrl);
      return counts.visible + counts.inFlight === 0 ? true : undefined;
    });
  });

  it('handles an EventBridge event once when it is delivered twice, keyed by its id', async () => {
    const f = await fixture(aws);
    await send(aws, f.queueUrl, [{ body: EVENT }, { body: EVENT }]);
    const seen: WorkerMessage[] = [];
    const rec = await start(f, 'eventbridge', seen);
    await rec.until(2);
    expect(outcomes(rec.events)).toEqual(['duplicate', 'success']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      key: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
      rawBody: '{"instance-id":"i-1234567890abcdef0","state":"terminated","seq":12345678901234567890}',
      envelope: {
        kind: 'eventbridge',
        source: 'aws.ec2',
        detailType: 'EC2 Instance State-change Notification',
        time: '2017-12-22T18:43:48Z',
      },
    });
  });

  it('dead-letters a malformed envelope at once with INVALID_ENVELOPE, the body as delivered', async () => {
    const f = await fixture(aws);
    const broken = EVENT.replace('"id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",', '');
    await send(aws, f.queueUrl, [{ body: broken }]);
    const seen: WorkerMessage[] = [];
    const rec = await start(f, 'eventbridge', seen);
    await rec.until(1);
    expect(outcomes(rec.events)).toEqual(['dead_lettered']);
    expect(seen).toHaveLength(0);
    const [dead] = await eventually(async () => {
      const found = await receiveAll(aws, f.dlqUrl);
      return found.length > 0 ? found : undefined;
    });
    expect(dead?.Body).toBe(broken);
    expect(dead?.MessageAttributes?.DeadLetterReason?.StringValue).toBe('INVALID_ENVELOPE');
    expect(dead?.MessageAttributes?.DeadLetterMessage?.StringValue).toBe('EventBridge event: id is missing');
    expect(dead?.MessageAttributes?.DeadLetterAttempts?.StringValue).toBe('1');
    expect(await queueCounts(aws, f.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('auto opens SNS and EventBridge envelopes and leaves plain messages alone, on one queue', async () => {
    const f = await fixture(aws);
    const topicArn = await topicTo(aws, `${f.name}-topic`, [f.queueUrl]);
    await sns(aws, { Action: 'Publish', TopicArn: topicArn, Message: 'plain text inside SNS' });
    await send(aws, f.queueUrl, [{ body: EVENT }, { body: '{"plain":true}', key: 'plain-1' }]);
    const seen: WorkerMessage[] = [];
    const rec = await start(f, 'auto', seen);
    await rec.until(3);
    expect(outcomes(rec.events)).toEqual(['success', 'success', 'success']);
    const byKind = new Map(seen.map((m) => [m.envelope?.kind ?? 'plain', m]));
    expect(byKind.get('sns')).toMatchObject({ body: 'plain text inside SNS', envelope: { topicArn } });
    expect(byKind.get('eventbridge')?.key).toBe('6a7e8feb-b491-4cf7-a9f1-bf3703467718');
    expect(byKind.get('plain')).toMatchObject({ key: 'plain-1', body: { plain: true } });
  });

  it('/seed with an envelope: each message as SNS would send it, a duplicate answered by its envelope id', async () => {
    const f = await fixture(aws);
    const result = await seedMessages(aws.sqs, f.queueUrl, 'IdempotencyKey', {
      count: 3,
      duplicates: 2,
      envelope: 'sns',
    });
    expect(result).toMatchObject({ sent: 5, unique: 3, duplicates: 2 });
    const seen: WorkerMessage[] = [];
    const rec = await start(f, 'sns', seen);
    await rec.until(5);
    expect(outcomes(rec.events)).toEqual(['duplicate', 'duplicate', 'success', 'success', 'success']);
    expect(seen.map((m) => m.key).sort()).toEqual([...result.keys].sort());
    for (const m of seen) {
      // No key attribute went over the wire: the key is the envelope's id, as with SNS itself.
      expect(m.attributes.IdempotencyKey).toBeUndefined();
      expect(m.envelope).toMatchObject({ kind: 'sns', id: m.key, topicArn: SEED_TOPIC_ARN });
    }
  });

  it('/seed with an EventBridge envelope: explicit messages keyed by their envelope id, a bad detail refused', async () => {
    const f = await fixture(aws);
    const messages = [
      { body: { orderId: 1 }, key: 'evt-1' },
      { body: { orderId: 1 }, key: 'evt-1' },
      { body: { orderId: 2 } },
    ];
    const result = await seedMessages(aws.sqs, f.queueUrl, 'IdempotencyKey', {
      messages,
      envelope: 'eventbridge',
    });
    expect(result).toMatchObject({ sent: 3, unique: 2, duplicates: 1 });
    const seen: WorkerMessage[] = [];
    const rec = await start(f, 'eventbridge', seen);
    await rec.until(3);
    expect(outcomes(rec.events)).toEqual(['duplicate', 'success', 'success']);
    expect(seen.map((m) => m.key).sort()).toEqual([...result.keys].sort());
    expect(seen.find((m) => m.key === 'evt-1')).toMatchObject({
      body: { orderId: 1 },
      envelope: { kind: 'eventbridge', source: SEED_EVENT_SOURCE },
    });
    await expect(
      seedMessages(aws.sqs, f.queueUrl, 'IdempotencyKey', {
        messages: [{ body: 'text' }],
        envelope: 'eventbridge',
      }),
    ).rejects.toMatchObject({
      field: 'messages.0.body',
      message: 'an EventBridge detail must be a JSON object',
    });
  });

  it('produce --envelope eventbridge sends generated messages whose duplicates the worker skips (dist/)', async () => {
    const f = await fixture(aws);
    const env = {
      SQS_QUEUE_URL: f.queueUrl,
      AWS_ENDPOINT_URL_SQS: aws.emulators.sqsEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: aws.emulators.dynamodbEndpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      LOG_LEVEL: 'warn',
    };
    const cli = runCli(['produce', '--count', '2', '--duplicates', '1', '--envelope', 'eventbridge'], env);
    expect((await cli.exit()).code).toBe(0);
    expect(cli.lines.at(-1)).toMatchObject({ sent: 3, failed: 0, duplicates: 1 });
    const seen: WorkerMessage[] = [];
    const rec = await start(f, 'eventbridge', seen);
    await rec.until(3);
    expect(outcomes(rec.events)).toEqual(['duplicate', 'success', 'success']);
    expect(seen.map((m) => m.envelope?.kind)).toEqual(['eventbridge', 'eventbridge']);
    const wrong = runCli(['produce', '--envelope', 'kafka'], env);
    expect((await wrong.exit()).code).toBe(2);
    expect(wrong.stderr()).toContain('--envelope is one of sns, eventbridge');
  });
});
