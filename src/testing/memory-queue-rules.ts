import {
  QUEUE_LIMITS,
  type BatchFailure,
  type BatchResult,
  type MessageAttributes,
  type OutgoingMessage,
  type ReceiveRequest,
} from '../core/queue.js';

/**
 * The rules the in-memory queue shares with SQS: parameter checks with SQS's error codes and
 * messages, receipt handles, aborts as the AWS SDK reports them. Split from memory-queue.ts.
 */

/** A fault as SQS reports it: `name` and `code` are SQS's error code (`ReceiptHandleIsInvalid`, ...). */
export class QueueError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }
}

const MAX_DELAY_SECONDS = 900;
const MAX_MESSAGE_BYTES = 262_144;
// SQS's allowed set: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
const INVALID_BODY = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export function untilAborted<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** As the AWS SDK rejects an aborted call: an error named AbortError, the signal's reason its cause. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return Object.assign(new Error('Request aborted', { cause: reason }), { name: 'AbortError' });
}

export function encodeHandle(queue: string, messageId: string, receive: number): string {
  return Buffer.from(`mq1\n${queue}\n${messageId}\n${receive}`).toString('base64url');
}

export function decodeHandle(
  handle: string,
): { queue: string; messageId: string; receive: number } | undefined {
  const [tag, queue, messageId, receive, ...rest] = Buffer.from(handle, 'base64url').toString().split('\n');
  if (tag !== 'mq1' || !queue || !messageId || !receive || rest.length > 0) return undefined;
  return { queue, messageId, receive: Number(receive) };
}

export function copyAttributes(attributes: MessageAttributes): MessageAttributes {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, a]) => [
      name,
      {
        dataType: a.dataType,
        // Absent, not undefined, as the SDK's answers have them.
        ...(a.stringValue === undefined ? {} : { stringValue: a.stringValue }),
        ...(a.binaryValue === undefined ? {} : { binaryValue: Uint8Array.from(a.binaryValue) }),
      },
    ]),
  );
}

export function inRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

export function invalid(parameter: string, value: unknown, reason: string): QueueError {
  return new QueueError(
    'InvalidParameterValue',
    `Value ${String(value)} for parameter ${parameter} is invalid. Reason: ${reason}`,
  );
}

export function checkVisibility(seconds: number, parameter: string): void {
  if (!inRange(seconds, 0, QUEUE_LIMITS.maxVisibilityTimeoutSeconds)) {
    throw invalid(parameter, seconds, `Must be between 0 and ${QUEUE_LIMITS.maxVisibilityTimeoutSeconds}.`);
  }
}

export function checkReceive(request: ReceiveRequest): void {
  if (!inRange(request.maxMessages, 1, QUEUE_LIMITS.maxBatch)) {
    throw invalid('MaxNumberOfMessages', request.maxMessages, 'Must be between 1 and 10, if provided.');
  }
  if (!inRange(request.waitTimeSeconds, 0, QUEUE_LIMITS.maxWaitTimeSeconds)) {
    throw invalid('WaitTimeSeconds', request.waitTimeSeconds, 'Must be >= 0 and <= 20, if provided.');
  }
  checkVisibility(request.visibilityTimeoutSeconds, 'VisibilityTimeout');
}

export function checkOutgoing(message: OutgoingMessage, fifo: boolean): void {
  const fault = (code: string, text: string) => new QueueError(code, text);
  if (message.body.length === 0) throw fault('MissingParameter', 'MessageBody is required.');
  if (INVALID_BODY.test(message.body)) throw fault('InvalidMessageContents', 'Invalid characters found.');
  if (fifo && !message.groupId) throw fault('MissingParameter', 'MessageGroupId is required.');
  const delay = message.delaySeconds ?? 0;
  if (fifo ? delay !== 0 : !inRange(delay, 0, MAX_DELAY_SECONDS)) {
    throw invalid('DelaySeconds', delay, fifo ? 'Not valid for a FIFO queue.' : 'Must be >= 0 and <= 900.');
  }
  const attributes = Object.entries(message.attributes ?? {});
  if (attributes.length > 10) throw invalid('MessageAttributes', attributes.length, 'At most 10.');
  let size = Buffer.byteLength(message.body);
  for (const [name, a] of attributes) {
    const binary = a.dataType.startsWith('Binary');
    const value = binary ? a.binaryValue?.byteLength : a.stringValue && Buffer.byteLength(a.stringValue);
    if (!/^(String|Number|Binary)(\.|$)/.test(a.dataType) || !value) {
      throw invalid(`MessageAttributes.${name}`, a.dataType, 'A String, Number or Binary type with a value.');
    }
    size += Buffer.byteLength(name) + Buffer.byteLength(a.dataType) + value;
  }
  if (size > MAX_MESSAGE_BYTES)
    throw invalid('MessageBody', `${size} bytes`, `Over ${MAX_MESSAGE_BYTES} bytes.`);
}

/** A batch call's entries one by one, as SQS answers them: each entry's fault is its own. */
export function eachEntry<T>(entries: readonly T[], apply: (entry: T) => void): BatchResult {
  if (entries.length === 0) throw new QueueError('EmptyBatchRequest', 'The batch has no entries.');
  if (entries.length > QUEUE_LIMITS.maxBatch) {
    throw new QueueError('TooManyEntriesInBatchRequest', `${entries.length} entries; at most 10.`);
  }
  const failed: BatchFailure[] = [];
  entries.forEach((entry, index) => {
    try {
      apply(entry);
    } catch (error) {
      if (!(error instanceof QueueError)) throw error;
      failed.push({ index, code: error.code, message: error.message });
    }
  });
  return { failed };
}
