/**
 * The shapes of the SQS actions the query-protocol adapter translates (API version 2012-11-05).
 * One description serves both directions: it reads a form-encoded request
 * (`MessageAttribute.1.Value.DataType=String`) into the JSON protocol's input, and writes the JSON
 * protocol's output as the query protocol's XML.
 *
 * Every list and map of SQS's query protocol is "flattened": a member's `name` is the key prefix of
 * its entries in the form (`AttributeName.1`, `SendMessageBatchRequestEntry.2.Id`) and the name of
 * the element repeated once per entry in the XML (`<Message>`, `<Attribute><Name/><Value/></Attribute>`).
 * Members without a `name` are spelt as in the JSON protocol.
 */

export type Shape = ScalarShape | ListShape | MapShape | StructureShape;

export interface ScalarShape {
  /** `blob` travels as base64 text in both protocols. */
  readonly type: 'string' | 'integer' | 'boolean' | 'blob';
}

export interface ListShape {
  readonly type: 'list';
  readonly member: Shape;
}

export interface MapShape {
  readonly type: 'map';
  /** Names of the key and value inside each entry (`Name`/`Value`, `Key`/`Value`). */
  readonly keyName: string;
  readonly valueName: string;
  readonly value: Shape;
}

export interface StructureShape {
  readonly type: 'structure';
  /** In the order the XML lists them. */
  readonly members: Readonly<Record<string, Member>>;
}

export interface Member {
  readonly shape: Shape;
  /** The query protocol's name, when it differs from the JSON protocol's member name. */
  readonly name?: string;
}

export interface Operation {
  readonly input: StructureShape;
  /** Absent: the answer carries only ResponseMetadata (DeleteMessage, PurgeQueue, ...). */
  readonly output?: StructureShape;
}

const string: ScalarShape = { type: 'string' };
const integer: ScalarShape = { type: 'integer' };
const boolean: ScalarShape = { type: 'boolean' };
const blob: ScalarShape = { type: 'blob' };

function structure(members: Record<string, Shape | Member>): StructureShape {
  const out: Record<string, Member> = {};
  for (const [key, value] of Object.entries(members)) {
    out[key] = 'shape' in value ? value : { shape: value };
  }
  return { type: 'structure', members: out };
}

function list(name: string, member: Shape): Member {
  return { name, shape: { type: 'list', member } };
}

function map(name: string, value: Shape, keyName = 'Name', valueName = 'Value'): Member {
  return { name, shape: { type: 'map', keyName, valueName, value } };
}

const attributeValue = structure({
  StringValue: string,
  BinaryValue: blob,
  StringListValues: list('StringListValue', string),
  BinaryListValues: list('BinaryListValue', blob),
  DataType: string,
});

const messageAttributes = map('MessageAttribute', attributeValue);
const systemAttributes = map('MessageSystemAttribute', attributeValue);
const queueAttributes = map('Attribute', string);
const attributeNames = list('AttributeName', string);

const sendEntry = {
  MessageBody: string,
  DelaySeconds: integer,
  MessageAttributes: messageAttributes,
  MessageSystemAttributes: systemAttributes,
  MessageDeduplicationId: string,
  MessageGroupId: string,
};

const sendResult = {
  MessageId: string,
  MD5OfMessageBody: string,
  MD5OfMessageAttributes: string,
  MD5OfMessageSystemAttributes: string,
  SequenceNumber: string,
};

const batchError = list(
  'BatchResultErrorEntry',
  structure({ Id: string, SenderFault: boolean, Code: string, Message: string }),
);

const message = structure({
  MessageId: string,
  ReceiptHandle: string,
  MD5OfBody: string,
  Body: string,
  Attributes: queueAttributes,
  MD5OfMessageAttributes: string,
  MessageAttributes: messageAttributes,
});

/** The actions translated; any other SQS action is answered with InvalidAction. */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  SendMessage: {
    input: structure({ QueueUrl: string, ...sendEntry }),
    output: structure(sendResult),
  },
  SendMessageBatch: {
    input: structure({
      QueueUrl: string,
      Entries: list('SendMessageBatchRequestEntry', structure({ Id: string, ...sendEntry })),
    }),
    output: structure({
      Successful: list('SendMessageBatchResultEntry', structure({ Id: string, ...sendResult })),
      Failed: batchError,
    }),
  },
  ReceiveMessage: {
    input: structure({
      QueueUrl: string,
      AttributeNames: attributeNames,
      MessageSystemAttributeNames: list('MessageSystemAttributeName', string),
      MessageAttributeNames: list('MessageAttributeName', string),
      MaxNumberOfMessages: integer,
      VisibilityTimeout: integer,
      WaitTimeSeconds: integer,
      ReceiveRequestAttemptId: string,
    }),
    output: structure({ Messages: list('Message', message) }),
  },
  DeleteMessage: { input: structure({ QueueUrl: string, ReceiptHandle: string }) },
  DeleteMessageBatch: {
    input: structure({
      QueueUrl: string,
      Entries: list('DeleteMessageBatchRequestEntry', structure({ Id: string, ReceiptHandle: string })),
    }),
    output: structure({
      Successful: list('DeleteMessageBatchResultEntry', structure({ Id: string })),
      Failed: batchError,
    }),
  },
  ChangeMessageVisibility: {
    input: structure({ QueueUrl: string, ReceiptHandle: string, VisibilityTimeout: integer }),
  },
  GetQueueUrl: {
    input: structure({ QueueName: string, QueueOwnerAWSAccountId: string }),
    output: structure({ QueueUrl: string }),
  },
  ListQueues: {
    input: structure({ QueueNamePrefix: string, NextToken: string, MaxResults: integer }),
    output: structure({ QueueUrls: list('QueueUrl', string), NextToken: string }),
  },
  GetQueueAttributes: {
    input: structure({ QueueUrl: string, AttributeNames: attributeNames }),
    output: structure({ Attributes: queueAttributes }),
  },
  CreateQueue: {
    input: structure({ QueueName: string, Attributes: queueAttributes, tags: map('Tag', string, 'Key') }),
    output: structure({ QueueUrl: string }),
  },
  PurgeQueue: { input: structure({ QueueUrl: string }) },
};

/**
 * Every action of SQS's API: a query request naming one of these is SQS's, even when unsigned, and
 * is answered by the adapter (translated, or InvalidAction). Other query requests (SNS, STS) go on
 * to fauxqs untouched.
 */
export const SQS_ACTIONS: ReadonlySet<string> = new Set([
  ...Object.keys(OPERATIONS),
  'AddPermission',
  'CancelMessageMoveTask',
  'ChangeMessageVisibilityBatch',
  'DeleteQueue',
  'ListDeadLetterSourceQueues',
  'ListMessageMoveTasks',
  'ListQueueTags',
  'RemovePermission',
  'SetQueueAttributes',
  'StartMessageMoveTask',
  'TagQueue',
  'UntagQueue',
]);
