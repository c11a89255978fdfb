import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

export interface AwsSettings {
  readonly region: string;
  readonly sqsEndpoint: string | undefined;
  readonly dynamodbEndpoint: string | undefined;
  /** Fixed credentials (embedded emulators accept any); otherwise the default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * Credentials come from the SDK's default chain (environment, profile, web identity, container
 * and instance roles). With an explicit endpoint (ElasticMQ, fauxqs) requests go there rather than
 * to the host in the queue URL, which emulators often make unresolvable.
 */
export function createSqsClient(aws: AwsSettings): SQSClient {
  return new SQSClient({
    region: aws.region,
    ...(aws.credentials ? { credentials: aws.credentials } : {}),
    ...(aws.sqsEndpoint ? { endpoint: aws.sqsEndpoint, useQueueUrlAsEndpoint: false } : {}),
  });
}

/** Throttling and 5xx are retried by the SDK's standard retry strategy (3 attempts, backoff). */
export function createDynamoClient(aws: AwsSettings): DynamoDBClient {
  return new DynamoDBClient({
    region: aws.region,
    ...(aws.credentials ? { credentials: aws.credentials } : {}),
    ...(aws.dynamodbEndpoint ? { endpoint: aws.dynamodbEndpoint } : {}),
  });
}
