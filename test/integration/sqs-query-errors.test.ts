import { randomUUID } from 'node:crypto';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import {
  all,
  child,
  entries,
  query,
  text,
  useEmbeddedEmulators,
  type QueryAnswer,
} from '../helpers/query-protocol.js';

/**
 * The embedded SQS emulator's query protocol: queue administration, errors in the query protocol's
 * own shape (`<ErrorResponse><Error><Type/><Code/><Message/>`, HTTP status), and what the adapter
 * leaves alone (the JSON protocol the worker uses, fauxqs's SNS on the query protocol).
 */
describe('embedded SQS, query protocol: queues and errors', () => {
  const emulators = useEmbeddedEmulators();

  function assertError(answer: QueryAnswer, status: number, code: string): string {
    expect(answer.status).toBe(status);
    expect(answer.contentType).toContain('text/xml');
    expect(answer.xml.name).toBe('ErrorResponse');
    expect(text(answer.xml, 'Error', 'Type')).toBe(status >= 500 ? 'Receiver' : 'Sender');
    expect(text(answer.xml, 'Error', 'Code')).toBe(code);
    expect(text(answer.xml, 'RequestId')).not.toBe('');
    return text(answer.xml, 'Error', 'Message');
  }

  it('creates a queue with attributes and tags, finds, lists, describes and purges it', async () => {
    const name = `admin-${randomUUID()}`;
    const created = await query(emulators.sqsEndpoint, {
      Action: 'CreateQueue',
      QueueName: name,
      'Attribute.1.Name': 'VisibilityTimeout',
      'Attribute.1.Value': '45',
      'Attribute.2.Name': 'DelaySeconds',
      'Attribute.2.Value': '0',
      'Tag.1.Key': 'team',
      'Tag.1.Value': 'a&b',
    });
    expect(created.status).toBe(200);
    const queueUrl = text(created.xml, 'CreateQueueResult', 'QueueUrl');
    expect(queueUrl).toMatch(new RegExp(`/000000000000/${name}$`));

    const found = await query(emulators.sqsEndpoint, { Action: 'GetQueueUrl', QueueName: name });
    expect(text(found.xml, 'GetQueueUrlResult', 'QueueUrl')).toBe(queueUrl);

    const listed = await query(emulators.sqsEndpoint, { Action: 'ListQueues', QueueNamePrefix: 'admin-' });
    expect(all(child(listed.xml, 'ListQueuesResult'), 'QueueUrl').map((u) => u.text)).toContain(queueUrl);

    await query(emulators.sqsEndpoint, {
      Action: 'SendMessage',
      QueueUrl: queueUrl,
      MessageBody: 'gone soon',
    });
    const described = await query(emulators.sqsEndpoint, {
      Action: 'GetQueueAttributes',
      QueueUrl: queueUrl,
      'AttributeName.1': 'All',
    });
    const attributes = entries(child(described.xml, 'GetQueueAttributesResult'), 'Attribute');
    expect(attributes.VisibilityTimeout?.text).toBe('45');
    expect(attributes.ApproximateNumberOfMessages?.text).toBe('1');
    expect(attributes.QueueArn?.text).toBe(`arn:aws:sqs:us-east-1:000000000000:${name}`);

    const purged = await query(emulators.sqsEndpoint, { Action: 'PurgeQueue', QueueUrl: queueUrl });
    expect(purged.status).toBe(200);
    expect(purged.xml.name).toBe('PurgeQueueResponse');
    const after = await query(emulators.sqsEndpoint, {
      Action: 'GetQueueAttributes',
      QueueUrl: queueUrl,
      'AttributeName.1': 'ApproximateNumberOfMessages',
    });
    expect(
      entries(child(after.xml, 'GetQueueAttributesResult'), 'Attribute').ApproximateNumberOfMessages?.text,
    ).toBe('0');
  });

  it('answers a queue that does not exist with NonExistentQueue, 400, Sender', async () => {
    const missing = `http://sqs.us-east-1.localhost:9324/000000000000/missing-${randomUUID()}`;
    assertError(
      await query(emulators.sqsEndpoint, { Action: 'SendMessage', QueueUrl: missing, MessageBody: 'x' }),
      400,
      'AWS.SimpleQueueService.NonExistentQueue',
    );
    assertError(
      await query(emulators.sqsEndpoint, { Action: 'GetQueueUrl', QueueName: `missing-${randomUUID()}` }),
      400,
      'AWS.SimpleQueueService.NonExistentQueue',
    );
    assertError(
      await query(emulators.sqsEndpoint, { Action: 'ReceiveMessage', QueueUrl: missing }),
      400,
      'AWS.SimpleQueueService.NonExistentQueue',
    );
  });

  it("passes the emulator's own refusals on: a body SQS forbids, alone or in a batch", async () => {
    const queueUrl = text(
      (await query(emulators.sqsEndpoint, { Action: 'CreateQueue', QueueName: `e-${randomUUID()}` })).xml,
      'CreateQueueResult',
      'QueueUrl',
    );
    const message = assertError(
      await query(emulators.sqsEndpoint, {
        Action: 'SendMessage',
        QueueUrl: queueUrl,
        MessageBody: 'nul \u0000 here',
      }),
      400,
      'AWS.SimpleQueueService.InvalidMessageContents',
    );
    expect(message).toContain('Invalid characters');
    const batch = await query(emulators.sqsEndpoint, {
      Action: 'SendMessageBatch',
      QueueUrl: queueUrl,
      'SendMessageBatchRequestEntry.1.Id': 'good',
      'SendMessageBatchRequestEntry.1.MessageBody': 'fine',
      'SendMessageBatchRequestEntry.2.Id': 'bad',
      'SendMessageBatchRequestEntry.2.MessageBody': 'nul \u0000 here',
    });
    expect(batch.status).toBe(200);
    const result = child(batch.xml, 'SendMessageBatchResult');
    expect(all(result, 'SendMessageBatchResultEntry').map((e) => text(e, 'Id'))).toEqual(['good']);
    const failed = all(result, 'BatchResultErrorEntry');
    expect(failed.map((f) => [text(f, 'Id'), text(f, 'SenderFault')])).toEqual([['bad', 'true']]);
    expect(text(failed[0]!, 'Code')).not.toBe('');
  });

  it('refuses an SQS action it does not translate with InvalidAction naming it', async () => {
    const message = assertError(
      await query(emulators.sqsEndpoint, { Action: 'DeleteQueue', QueueUrl: 'http://x/000000000000/q' }),
      400,
      'InvalidAction',
    );
    expect(message).toContain('DeleteQueue');
    expect(message).toContain('SendMessage');
  });

  it('refuses an unknown action signed for sqs, and a request signed for sqs without Action', async () => {
    const signedForSqs = {
      authorization:
        'AWS4-HMAC-SHA256 Credential=x/20261207/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0',
    };
    const unknown = assertError(
      await query(emulators.sqsEndpoint, { Action: 'Frobnicate' }, { headers: signedForSqs }),
      400,
      'InvalidAction',
    );
    expect(unknown).toContain('Frobnicate');
    assertError(
      await query(emulators.sqsEndpoint, { Version: '2012-11-05' }, { headers: signedForSqs }),
      400,
      'MissingAction',
    );
  });

  it('refuses a parameter that should be an integer and is not', async () => {
    const message = assertError(
      await query(emulators.sqsEndpoint, {
        Action: 'ReceiveMessage',
        QueueUrl: 'http://x/000000000000/q',
        MaxNumberOfMessages: 'ten',
      }),
      400,
      'InvalidParameterValue',
    );
    expect(message).toContain('MaxNumberOfMessages');
  });

  it("refuses a request over the emulator's body limit with RequestEntityTooLarge, 413", async () => {
    const huge = 'x'.repeat(12 * 1024 * 1024);
    const message = assertError(
      await query(emulators.sqsEndpoint, {
        Action: 'SendMessage',
        QueueUrl: 'http://x/000000000000/q',
        MessageBody: huge,
      }),
      413,
      'RequestEntityTooLarge',
    );
    expect(message).toContain('bytes');
  });

  it('leaves the JSON protocol (the worker) and query requests for SNS to fauxqs', async () => {
    const queueUrl = text(
      (await query(emulators.sqsEndpoint, { Action: 'CreateQueue', QueueName: `j-${randomUUID()}` })).xml,
      'CreateQueueResult',
      'QueueUrl',
    );
    const sqs = new SQSClient({
      endpoint: emulators.sqsEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    try {
      const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'json' }));
      expect(sent.MessageId).toBeDefined();
    } finally {
      sqs.destroy();
    }
    const topic = await query(emulators.sqsEndpoint, { Action: 'CreateTopic', Name: `t-${randomUUID()}` });
    expect(topic.status).toBe(200);
    expect(text(topic.xml, 'CreateTopicResult', 'TopicArn')).toMatch(/^arn:aws:sns:/);
  });
});
