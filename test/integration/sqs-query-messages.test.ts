import { createHash, randomUUID } from 'node:crypto';
import { all, child, entries, query, text, useEmbeddedEmulators } from '../helpers/query-protocol.js';

/**
 * The embedded SQS emulator (fauxqs behind the query-protocol adapter of src/aws/embedded.ts)
 * answering SQS's query protocol, as Debian's awscli and boto3 and the Java SDK 1.x speak it:
 * form-encoded requests, XML answers. Messages: send, receive, batches, visibility, escaping.
 */
describe('embedded SQS, query protocol: messages', () => {
  const emulators = useEmbeddedEmulators();

  async function newQueue(attributes: Record<string, string> = {}): Promise<string> {
    const params: Record<string, string> = { Action: 'CreateQueue', QueueName: `q-${randomUUID()}` };
    Object.entries(attributes).forEach(([name, value], i) => {
      params[`Attribute.${i + 1}.Name`] = name;
      params[`Attribute.${i + 1}.Value`] = value;
    });
    const created = await query(emulators.sqsEndpoint, params);
    expect(created.status).toBe(200);
    return text(created.xml, 'CreateQueueResult', 'QueueUrl');
  }

  const md5 = (value: string) => createHash('md5').update(value, 'utf8').digest('hex');

  // Characters SQS allows in a body, the XML markup ones, CR LF (an XML parser would turn a literal
  // CR into LF) and the edges of the allowed ranges below U+10000 (fauxqs refuses U+10000 and up).
  const body = 'a < b && c > d "q" \'s\' ]]> <![CDATA[x]]>\r\nline\rtab\tend é 中文 \uD7FF \uE000 \uFFFD';

  it('sends a message with attributes and receives it back byte for byte, MD5s included', async () => {
    const queueUrl = await newQueue();
    const sent = await query(emulators.sqsEndpoint, {
      Action: 'SendMessage',
      QueueUrl: queueUrl,
      MessageBody: body,
      'MessageAttribute.1.Name': 'IdempotencyKey',
      'MessageAttribute.1.Value.DataType': 'String',
      'MessageAttribute.1.Value.StringValue': 'order-<1>&',
      'MessageAttribute.2.Name': 'count',
      'MessageAttribute.2.Value.DataType': 'Number',
      'MessageAttribute.2.Value.StringValue': '42',
      'MessageAttribute.3.Name': 'raw',
      'MessageAttribute.3.Value.DataType': 'Binary',
      'MessageAttribute.3.Value.BinaryValue': Buffer.from([0, 1, 2, 255]).toString('base64'),
    });
    expect(sent.status).toBe(200);
    expect(sent.contentType).toContain('text/xml');
    expect(sent.xml.name).toBe('SendMessageResponse');
    const result = child(sent.xml, 'SendMessageResult');
    expect(text(result, 'MD5OfMessageBody')).toBe(md5(body));
    expect(text(result, 'MD5OfMessageAttributes')).toMatch(/^[0-9a-f]{32}$/);
    const messageId = text(result, 'MessageId');
    expect(text(sent.xml, 'ResponseMetadata', 'RequestId')).not.toBe('');

    const received = await query(emulators.sqsEndpoint, {
      Action: 'ReceiveMessage',
      QueueUrl: queueUrl,
      'AttributeName.1': 'All',
      'MessageAttributeName.1': 'All',
      MaxNumberOfMessages: '10',
    });
    expect(received.status).toBe(200);
    const messages = all(child(received.xml, 'ReceiveMessageResult'), 'Message');
    expect(messages).toHaveLength(1);
    const [message] = messages as [(typeof messages)[0]];
    expect(text(message, 'MessageId')).toBe(messageId);
    expect(text(message, 'Body')).toBe(body);
    expect(text(message, 'MD5OfBody')).toBe(md5(body));
    expect(text(message, 'MD5OfMessageAttributes')).toBe(text(result, 'MD5OfMessageAttributes'));
    expect(text(entries(message, 'Attribute').ApproximateReceiveCount!)).toBe('1');
    const attributes = entries(message, 'MessageAttribute');
    expect(text(attributes.IdempotencyKey!, 'StringValue')).toBe('order-<1>&');
    expect(text(attributes.IdempotencyKey!, 'DataType')).toBe('String');
    expect(text(attributes.count!, 'StringValue')).toBe('42');
    expect(Buffer.from(text(attributes.raw!, 'BinaryValue'), 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('receives only the message attributes named by MessageAttributeName.N', async () => {
    const queueUrl = await newQueue();
    await query(emulators.sqsEndpoint, {
      Action: 'SendMessage',
      QueueUrl: queueUrl,
      MessageBody: 'x',
      'MessageAttribute.1.Name': 'keep',
      'MessageAttribute.1.Value.DataType': 'String',
      'MessageAttribute.1.Value.StringValue': 'yes',
      'MessageAttribute.2.Name': 'drop',
      'MessageAttribute.2.Value.DataType': 'String',
      'MessageAttribute.2.Value.StringValue': 'no',
    });
    const received = await query(emulators.sqsEndpoint, {
      Action: 'ReceiveMessage',
      QueueUrl: queueUrl,
      'MessageAttributeName.1': 'keep',
    });
    const message = child(received.xml, 'ReceiveMessageResult', 'Message');
    expect(Object.keys(entries(message, 'MessageAttribute'))).toEqual(['keep']);
  });

  it('sends and deletes in batches, reporting each entry', async () => {
    const queueUrl = await newQueue();
    const sent = await query(emulators.sqsEndpoint, {
      Action: 'SendMessageBatch',
      QueueUrl: queueUrl,
      'SendMessageBatchRequestEntry.1.Id': 'first',
      'SendMessageBatchRequestEntry.1.MessageBody': 'one & <two>',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Name': 'k',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType': 'String',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue': 'v',
      'SendMessageBatchRequestEntry.2.Id': 'second',
      'SendMessageBatchRequestEntry.2.MessageBody': 'three',
    });
    expect(sent.status).toBe(200);
    const sentEntries = all(child(sent.xml, 'SendMessageBatchResult'), 'SendMessageBatchResultEntry');
    expect(sentEntries.map((e) => text(e, 'Id'))).toEqual(['first', 'second']);
    expect(text(sentEntries[0]!, 'MD5OfMessageBody')).toBe(md5('one & <two>'));
    expect(text(sentEntries[0]!, 'MD5OfMessageAttributes')).toMatch(/^[0-9a-f]{32}$/);

    const received = await query(emulators.sqsEndpoint, {
      Action: 'ReceiveMessage',
      QueueUrl: queueUrl,
      MaxNumberOfMessages: '10',
    });
    const messages = all(child(received.xml, 'ReceiveMessageResult'), 'Message');
    expect(messages.map((m) => text(m, 'Body')).sort()).toEqual(['one & <two>', 'three']);

    const deleted = await query(emulators.sqsEndpoint, {
      Action: 'DeleteMessageBatch',
      QueueUrl: queueUrl,
      'DeleteMessageBatchRequestEntry.1.Id': 'a',
      'DeleteMessageBatchRequestEntry.1.ReceiptHandle': text(messages[0]!, 'ReceiptHandle'),
      'DeleteMessageBatchRequestEntry.2.Id': 'b',
      'DeleteMessageBatchRequestEntry.2.ReceiptHandle': text(messages[1]!, 'ReceiptHandle'),
    });
    expect(deleted.status).toBe(200);
    const result = child(deleted.xml, 'DeleteMessageBatchResult');
    expect(all(result, 'DeleteMessageBatchResultEntry').map((e) => text(e, 'Id'))).toEqual(['a', 'b']);
    expect(all(result, 'BatchResultErrorEntry')).toEqual([]);
    await expectEmpty(queueUrl);
  });

  it('makes a message visible again with ChangeMessageVisibility, then deletes it', async () => {
    const queueUrl = await newQueue({ VisibilityTimeout: '300' });
    await query(emulators.sqsEndpoint, { Action: 'SendMessage', QueueUrl: queueUrl, MessageBody: 'again' });
    const first = await query(emulators.sqsEndpoint, { Action: 'ReceiveMessage', QueueUrl: queueUrl });
    const handle = text(first.xml, 'ReceiveMessageResult', 'Message', 'ReceiptHandle');

    const changed = await query(emulators.sqsEndpoint, {
      Action: 'ChangeMessageVisibility',
      QueueUrl: queueUrl,
      ReceiptHandle: handle,
      VisibilityTimeout: '0',
    });
    expect(changed.status).toBe(200);
    expect(changed.xml.name).toBe('ChangeMessageVisibilityResponse');
    expect(changed.xml.children.map((c) => c.name)).toEqual(['ResponseMetadata']);

    const second = await query(emulators.sqsEndpoint, {
      Action: 'ReceiveMessage',
      QueueUrl: queueUrl,
      'AttributeName.1': 'ApproximateReceiveCount',
    });
    const message = child(second.xml, 'ReceiveMessageResult', 'Message');
    expect(text(entries(message, 'Attribute').ApproximateReceiveCount!)).toBe('2');
    const deleted = await query(emulators.sqsEndpoint, {
      Action: 'DeleteMessage',
      QueueUrl: queueUrl,
      ReceiptHandle: text(message, 'ReceiptHandle'),
    });
    expect(deleted.status).toBe(200);
    expect(deleted.xml.name).toBe('DeleteMessageResponse');
    await expectEmpty(queueUrl);
  });

  it("takes the queue from the request's path when QueueUrl is not in the form (Java SDK 1.x)", async () => {
    const queueUrl = await newQueue();
    const path = new URL(queueUrl).pathname;
    const sent = await query(
      emulators.sqsEndpoint,
      { Action: 'SendMessage', MessageBody: 'by path' },
      { path },
    );
    expect(sent.status).toBe(200);
    const received = await query(emulators.sqsEndpoint, { Action: 'ReceiveMessage', QueueUrl: queueUrl });
    expect(text(received.xml, 'ReceiveMessageResult', 'Message', 'Body')).toBe('by path');
  });

  it('answers a GET with the parameters in the query string', async () => {
    const queueUrl = await newQueue();
    const name = queueUrl.split('/').at(-1)!;
    const found = await query(
      emulators.sqsEndpoint,
      { Action: 'GetQueueUrl', QueueName: name },
      { method: 'GET' },
    );
    expect(found.status).toBe(200);
    expect(text(found.xml, 'GetQueueUrlResult', 'QueueUrl')).toBe(queueUrl);
  });

  async function expectEmpty(queueUrl: string): Promise<void> {
    const attributes = await query(emulators.sqsEndpoint, {
      Action: 'GetQueueAttributes',
      QueueUrl: queueUrl,
      'AttributeName.1': 'ApproximateNumberOfMessages',
      'AttributeName.2': 'ApproximateNumberOfMessagesNotVisible',
    });
    const values = entries(child(attributes.xml, 'GetQueueAttributesResult'), 'Attribute');
    expect(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v.text]))).toEqual({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  }
});
