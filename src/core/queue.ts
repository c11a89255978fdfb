/**
 * The queue as the worker needs it, as an interface: the runtime depends on this, the SQS adapter
 * (aws/sqs-queue.ts) and the in-memory queue (testing/memory-queue.ts) implement it, and one contract
 * suite (test/helpers/queue-contract.ts) runs against both, as the store's does.
 *
 * A dead-letter queue is a Queue of its own: the worker sends a copy there, then deletes the
 * original.
 */

/** One message attribute, as SQS types it. */
export interface MessageAttribute {
  /** `String`, `Number` or `Binary`, optionally with a custom suffix (`String.json`). */
  readonly dataType: string;
  readonly stringValue?: string | undefined;
  readonly binaryValue?: Uint8Array | undefined;
}

export type MessageAttributes = Readonly<Record<string, MessageAttribute>>;

/** A message as the queue delivered it: transport level, before any decoding. */
export interface ReceivedMessage {
  readonly messageId: string;
  /** Proof of this one receive: what delete and changeVisibility take. */
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: MessageAttributes;
  /** ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
  /** SentTimestamp, epoch ms. */
  readonly sentAt: number | undefined;
  /** ApproximateFirstReceiveTimestamp, epoch ms. */
  readonly firstReceivedAt: number | undefined;
  /** FIFO queues: MessageGroupId. */
  readonly groupId: string | undefined;
  /** SQS's AWSTraceHeader system attribute (X-Ray format), when the producer's side set one. */
  readonly awsTraceHeader?: string | undefined;
}

export interface ReceiveRequest {
  /** 1 to 10. */
  readonly maxMessages: number;
  /** Long poll: 0 to 20 seconds. */
  readonly waitTimeSeconds: number;
  /** Visibility timeout of the messages received, seconds. */
  readonly visibilityTimeoutSeconds: number;
  /**
   * Aborts a long poll; the promise then rejects promptly with an error named `AbortError` (the
   * AWS SDK's, or the signal's reason when that is one; otherwise the reason is its `cause`).
   */
  readonly signal?: AbortSignal;
}

export interface OutgoingMessage {
  readonly body: string;
  readonly attributes?: MessageAttributes | undefined;
  /** FIFO queues: required. */
  readonly groupId?: string | undefined;
  /** FIFO queues without content-based deduplication: required. */
  readonly deduplicationId?: string | undefined;
  /** Standard queues only. */
  readonly delaySeconds?: number | undefined;
}

export interface VisibilityChange {
  readonly receiptHandle: string;
  /** 0 to 43,200. 0 makes the message visible at once. */
  readonly visibilityTimeoutSeconds: number;
}

/** The entries of a batch call that failed; the others succeeded. */
export interface BatchResult {
  readonly failed: readonly BatchFailure[];
}

export interface BatchFailure {
  /** The index of the entry in the request. */
  readonly index: number;
  readonly code: string;
  readonly message: string;
}

/** Limits SQS sets, which both implementations enforce. */
export const QUEUE_LIMITS = {
  maxBatch: 10,
  maxWaitTimeSeconds: 20,
  maxVisibilityTimeoutSeconds: 43_200,
} as const;

export interface Queue {
  readonly url: string;
  /** The name ends in `.fifo`. */
  readonly fifo: boolean;
  /** Up to maxMessages messages, waiting up to waitTimeSeconds for the first one. */
  receive(request: ReceiveRequest): Promise<ReceivedMessage[]>;
  /**
   * Rejects when the receipt handle is not one SQS issued (`ReceiptHandleIsInvalid`) or the call
   * fails (the error `name` is SQS's code). SQS accepts the handle of a deleted message, and on
   * standard queues an earlier receive's handle, without error (FIFO: `InvalidParameterValue`).
   */
  delete(receiptHandle: string): Promise<void>;
  /** Up to 10 receipt handles; each entry's failure is reported on its own. */
  deleteBatch(receiptHandles: readonly string[]): Promise<BatchResult>;
  /**
   * The handle of an earlier receive, or of a deleted message, fails: SQS says
   * `InvalidParameterValue` (fauxqs `MessageNotInflight`); treat both as "this receive is over".
   */
  changeVisibility(change: VisibilityChange): Promise<void>;
  /** Up to 10 entries; each entry's failure is reported on its own. */
  changeVisibilityBatch(changes: readonly VisibilityChange[]): Promise<BatchResult>;
  /** Resolves to the new MessageId. */
  send(message: OutgoingMessage): Promise<string>;
}
