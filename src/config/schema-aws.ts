import { duration, env, group, httpUrl, int, maybe, pattern, port } from './leaves.js';

/**
 * Where the AWS services are and how each call to them is bounded: region, endpoints, timeouts
 * and attempts, and the in-process emulators of embedded mode.
 * Part of the one config schema (schema.ts), which lists the fields in the documented order.
 */
export const awsFields = {
  region: env(
    'AWS_REGION',
    pattern(
      /^(?=.{1,63}$)[a-z][a-z0-9]*(-[a-z0-9]+)*$/,
      'not an AWS region name',
      'an AWS region name such as us-east-1: lower-case letters, digits and single hyphens, starting with a letter, at most 63',
    ),
    {
      default: 'us-east-1',
      description: 'AWS region of the queue and the table. Credentials come from the default AWS chain.',
    },
  ),
  sqsEndpoint: env(
    'AWS_ENDPOINT_URL_SQS',
    maybe(httpUrl('AWS credentials come from the default AWS chain')),
    {
      description:
        'SQS endpoint override (ElasticMQ, fauxqs). When set, requests go to it instead of the queue URL host.',
    },
  ),
  dynamodbEndpoint: env(
    'AWS_ENDPOINT_URL_DYNAMODB',
    maybe(httpUrl('AWS credentials come from the default AWS chain')),
    {
      description: 'DynamoDB endpoint override (DynamoDB Local, dynalite).',
    },
  ),
  awsCalls: group({
    connectTimeoutMs: env('AWS_CONNECT_TIMEOUT', duration(0.01, 10), {
      default: '2',
      description: 'Longest wait for a connection to SQS or DynamoDB, in seconds.',
    }),
    sqsRequestTimeoutMs: env('SQS_REQUEST_TIMEOUT', duration(0.01, 30), {
      default: '5',
      description:
        'Longest wait for the answer to one SQS request, in seconds; a ReceiveMessage gets SQS_WAIT_TIME_SECONDS on top.',
    }),
    dynamodbRequestTimeoutMs: env('DYNAMODB_REQUEST_TIMEOUT', duration(0.01, 30), {
      default: '3',
      description: 'Longest wait for the answer to one DynamoDB request, in seconds.',
    }),
    maxAttempts: env('AWS_MAX_ATTEMPTS', int(1, 10), {
      default: '3',
      description:
        'Attempts per SQS or DynamoDB call, the first included: the SDK retries throttling, 5xx, refused connections and timeouts, but not a timed-out long poll (the receive loop retries that).',
    }),
  }),
  embedded: group({
    sqsPort: env('EMBEDDED_SQS_PORT', port('0 picks a free port'), {
      default: '9324',
      description: 'Embedded mode: loopback port of the in-process SQS emulator (fauxqs).',
    }),
    dynamodbPort: env('EMBEDDED_DYNAMODB_PORT', port('0 picks a free port'), {
      default: '8000',
      description: 'Embedded mode: loopback port of the in-process DynamoDB emulator (dynalite).',
    }),
    queueName: env(
      'EMBEDDED_QUEUE_NAME',
      pattern(
        /^[a-zA-Z0-9_-]{1,75}(\.fifo)?$/,
        'not an SQS queue name',
        '1 to 75 characters of a-z, A-Z, 0-9, _ and -, optionally ending in .fifo',
      ),
      {
        default: 'sqs-worker',
        description:
          'Embedded mode: name of the queue created at start; its dead-letter queue is `<name>-dlq`.',
      },
    ),
  }),
};
