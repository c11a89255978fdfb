import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type BatchResultErrorEntry,
  type Message,
  type MessageAttributeValue,
  type MessageSystemAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  BatchFailure,
  BatchResult,
  MessageAttributes,
  OutgoingMessage,
  Queue,
  ReceiveRequest,
  ReceivedMessage,
  VisibilityChange,
} from '../core/queue.js';
import { isFifoQueue } from './queues.js';

/** The system attributes ReceivedMessage carries; receives ask for these and no others. */
export const RECEIVED_SYSTEM_ATTRIBUTES: MessageSystemAttributeName[] = [
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SentTimestamp',
  'MessageGroupId',
  'AWSTraceHeader',
];

/**
 * The Queue on Amazon SQS (or an emulator) through an injected SQSClient. Errors are the SDK's:
 * their `name` is SQS's error code (`ReceiptHandleIsInvalid`, `InvalidParameterValue`, ...); an
 * aborted receive rejects with the SDK's error named `AbortError`. Limits are SQS's to enforce.
 * Batch entries are sent with the Ids `e0`..`e9`, and the answer is mapped back to indexes: an entry
 * SQS reports neither as done nor as failed counts as failed (`MissingBatchResult`), never as done.
 */
export class SqsQueue implements Queue {
  readonly url: string;
  readonly fifo: boolean;
  readonly #client: SQSClient;

  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.url = queueUrl;
    this.fifo = isFifoQueue(queueUrl);
  }

  async receive(request: ReceiveRequest): Promise<ReceivedMessage[]> {
    const out = await sqsCall(() =>
      this.#client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.url,
          MaxNumberOfMessages: request.maxMessages,
          WaitTimeSeconds: request.waitTimeSeconds,
          VisibilityTimeout: request.visibilityTimeoutSeconds,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: RECEIVED_SYSTEM_ATTRIBUTES,
        }),
        request.signal ? { abortSignal: request.signal } : {},
      ),
    );
    return (out.Messages ?? []).map((message) => toReceivedMessage(message));
  }

  async delete(receiptHandle: string): Promise<void> {
    await sqsCall(() =>
      this.#client.send(new DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: receiptHandle })),
    );
  }

  async deleteBatch(receiptHandles: readonly string[]): Promise<BatchResult> {
    const out = await sqsCall(() =>
      this.#client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.url,
          Entries: receiptHandles.map((handle, index) => ({ Id: entryId(index), ReceiptHandle: handle })),
        }),
      ),
    );
    return toBatchResult(receiptHandles.length, out.Successful ?? [], out.Failed ?? []);
  }

  async changeVisibility(change: VisibilityChange): Promise<void> {
    await sqsCall(() =>
      this.#client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.url,
          ReceiptHandle: change.receiptHandle,
          VisibilityTimeout: change.visibilityTimeoutSeconds,
        }),
      ),
    );
  }

  async changeVisibilityBatch(changes: readonly VisibilityChange[]): Promise<BatchResult> {
    const out = await sqsCall(() =>
      this.#client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.url,
          Entries: changes.map((change, index) => ({
            Id: entryId(index),
            ReceiptHandle: change.receiptHandle,
            VisibilityTimeout: change.visibilityTimeoutSeconds,
          })),
        }),
      ),
    );
    return toBatchResult(changes.length, out.Successful ?? [], out.Failed ?? []);
  }

  async send(message: OutgoingMessage): Promise<string> {
    const out = await sqsCall(() =>
      this.#client.send(
        new SendMessageCommand({
          QueueUrl: this.url,
          MessageBody: message.body,
          // The SDK leaves a member that is undefined out of the request.
          MessageAttributes: message.attributes && toSqsAttributes(message.attributes),
          MessageGroupId: message.groupId,
          MessageDeduplicationId: message.deduplicationId,
          DelaySeconds: message.delaySeconds,
        }),
      ),
    );
    if (!out.MessageId) throw new Error(`SendMessage to ${this.url} returned no MessageId`);
    return out.MessageId;
  }
}

/**
 * An SQS Message as the worker sees it. Attributes keep their type (Binary stays bytes); a
 * system attribute SQS did not return (it was not asked for) reads as undefined, and a missing
 * ApproximateReceiveCount as 0. Throws when the MessageId or ReceiptHandle is missing.
 */
export function toReceivedMessage(message: Message): ReceivedMessage {
  const { MessageId: messageId, ReceiptHandle: receiptHandle, Attributes: system = {} } = message;
  if (!messageId || !receiptHandle)
    throw new Error('SQS returned a message without MessageId or ReceiptHandle');
  return {
    messageId,
    receiptHandle,
    body: message.Body ?? '',
    attributes: fromSqsAttributes(message.MessageAttributes ?? {}),
    receiveCount: epoch(system.ApproximateReceiveCount) ?? 0,
    sentAt: epoch(system.SentTimestamp),
    firstReceivedAt: epoch(system.ApproximateFirstReceiveTimestamp),
    groupId: system.MessageGroupId,
    awsTraceHeader: system.AWSTraceHeader,
  };
}

const QUERY_CODE_PREFIX = 'AWS.SimpleQueueService.';

/**
 * Errors SQS does not model (InvalidParameterValue, ...) reach the SDK under their query-protocol
 * code (`AWS.SimpleQueueService.InvalidParameterValue`): the name is trimmed to SQS's code, so
 * callers match one name whichever way the service answered.
 */
async function sqsCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof Error && error.name.startsWith(QUERY_CODE_PREFIX)) {
      error.name = error.name.slice(QUERY_CODE_PREFIX.length);
    }
    throw error;
  }
}

function epoch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

function fromSqsAttributes(attributes: Record<string, MessageAttributeValue>): MessageAttributes {
  // fromEntries defines own properties: a name such as `__proto__` (valid in SQS) is kept.
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        dataType: value.DataType ?? 'String',
        stringValue: value.StringValue,
        binaryValue: value.BinaryValue,
      },
    ]),
  );
}

function toSqsAttributes(attributes: MessageAttributes): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        DataType: value.dataType,
        StringValue: value.stringValue,
        BinaryValue: value.binaryValue,
      },
    ]),
  );
}

function entryId(index: number): string {
  return `e${index}`;
}

/** The index an entry Id names, when it is one of ours and in range. */
function entryIndex(id: string | undefined, count: number): number | undefined {
  const match = /^e(\d+)$/.exec(id ?? '');
  const index = match ? Number(match[1]) : Number.NaN;
  return Number.isInteger(index) && index < count ? index : undefined;
}

/**
 * Failures by index. An entry in Failed fails even if it is also in Successful; an entry in neither
 * fails as MissingBatchResult: a batch answer never turns an unknown outcome into a success.
 */
function toBatchResult(
  count: number,
  successful: readonly { Id?: string | undefined }[],
  failures: readonly BatchResultErrorEntry[],
): BatchResult {
  const failed = new Map<number, BatchFailure>();
  for (const f of failures) {
    const index = entryIndex(f.Id, count);
    if (index !== undefined && !failed.has(index)) {
      failed.set(index, { index, code: f.Code ?? 'Unknown', message: f.Message ?? '' });
    }
  }
  const done = new Set(successful.map((s) => entryIndex(s.Id, count)));
  for (let index = 0; index < count; index += 1) {
    if (!failed.has(index) && !done.has(index)) {
      failed.set(index, {
        index,
        code: 'MissingBatchResult',
        message: 'SQS reported no outcome for this entry',
      });
    }
  }
  return { failed: [...failed.values()].sort((a, b) => a.index - b.index) };
}
