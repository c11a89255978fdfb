import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface QueuePair {
  readonly queueUrl: string;
  readonly dlqUrl: string;
}

/** The queue name is the last path segment of its URL. */
export function queueNameFromUrl(queueUrl: string): string {
  // Not new URL(): emulator hosts such as sqs.us-east-1.127.0.0.1 are not valid WHATWG hosts.
  const name = queueUrl.split('?')[0]?.split('/').filter(Boolean).at(-1);
  if (!name) throw new Error(`no queue name in ${queueUrl}`);
  return name;
}

export function isFifoQueue(queueUrl: string): boolean {
  return queueNameFromUrl(queueUrl).endsWith('.fifo');
}

/**
 * Creates a queue and its dead-letter queue `<name>-dlq` (FIFO when the queue is), wired by a
 * redrive policy. CreateQueue is idempotent for equal attributes, so this is safe to repeat.
 */
export async function createQueuePair(
  sqs: SQSClient,
  name: string,
  options: { maxReceiveCount: number; visibilityTimeoutSeconds: number },
): Promise<QueuePair> {
  const fifo = name.endsWith('.fifo');
  const dlqName = fifo ? `${name.slice(0, -'.fifo'.length)}-dlq.fifo` : `${name}-dlq`;
  const fifoAttributes: Record<string, string> = fifo ? { FifoQueue: 'true' } : {};
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: dlqName,
      Attributes: { ...fifoAttributes, MessageRetentionPeriod: '1209600' },
    }),
  );
  const dlqUrl = required(dlq.QueueUrl, 'CreateQueue returned no QueueUrl');
  const dlqArn = await queueArn(sqs, dlqUrl);
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        ...fifoAttributes,
        VisibilityTimeout: String(options.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: String(options.maxReceiveCount),
        }),
      },
    }),
  );
  return { queueUrl: required(queue.QueueUrl, 'CreateQueue returned no QueueUrl'), dlqUrl };
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  return required(out.Attributes?.QueueArn, `no QueueArn for ${queueUrl}`);
}

/**
 * The dead-letter queue named by the queue's redrive policy, or undefined when it has none.
 * Looked up once at start: the worker sends permanent failures there itself.
 */
export async function findDeadLetterQueue(sqs: SQSClient, queueUrl: string): Promise<string | undefined> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  const policy = out.Attributes?.RedrivePolicy;
  if (!policy) return undefined;
  const arn = (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
  const parts = arn?.split(':');
  if (!parts || parts.length < 6) return undefined;
  const [, , , , accountId, dlqName] = parts;
  const found = await sqs.send(
    new GetQueueUrlCommand({
      QueueName: dlqName,
      ...(accountId ? { QueueOwnerAWSAccountId: accountId } : {}),
    }),
  );
  return found.QueueUrl;
}

function required<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new Error(message);
  return value;
}

/** One GetQueueAttributes: rejects when the queue cannot be reached (start-up check). */
export async function probeQueue(sqs: SQSClient, queueUrl: string): Promise<void> {
  await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
}
