import { z } from 'zod';
import { crossRules } from './rules.js';
import { reader, type LeafMeta } from './leaves.js';
import { awsFields } from './schema-aws.js';
import { dynamodbFields } from './schema-dynamodb.js';
import { handlerFields } from './schema-handler.js';
import { httpFields } from './schema-http.js';
import { observabilityFields } from './schema-observability.js';
import { sqsFields } from './schema-sqs.js';
import { workerFields } from './schema-worker.js';

/**
 * Every field of Config, in the order docs/configuration.md lists the variables. The fields are
 * written in one file per concern (schema-aws.ts, schema-sqs.ts, schema-dynamodb.ts,
 * schema-worker.ts, schema-handler.ts, schema-http.ts, schema-observability.ts); the table's order
 * mixes the concerns, so it is spelt out here, one line a field.
 */
const fields = {
  region: awsFields.region,
  sqsEndpoint: awsFields.sqsEndpoint,
  dynamodbEndpoint: awsFields.dynamodbEndpoint,
  queueUrl: sqsFields.queueUrl,
  waitTimeSeconds: sqsFields.waitTimeSeconds,
  visibilityTimeoutSeconds: sqsFields.visibilityTimeoutSeconds,
  batchSize: sqsFields.batchSize,
  batchFlushMs: sqsFields.batchFlushMs,
  maxInFlight: workerFields.maxInFlight,
  receiveConcurrency: workerFields.receiveConcurrency,
  shutdownTimeoutMs: workerFields.shutdownTimeoutMs,
  handlerTimeoutMs: handlerFields.handlerTimeoutMs,
  backoff: workerFields.backoff,
  messageSchema: handlerFields.messageSchema,
  messageEnvelope: handlerFields.messageEnvelope,
  webhook: handlerFields.webhook,
  seed: httpFields.seed,
  status: httpFields.status,
  queueMetricsIntervalMs: observabilityFields.queueMetricsIntervalMs,
  health: observabilityFields.health,
  awsCalls: awsFields.awsCalls,
  idempotency: dynamodbFields.idempotency,
  http: httpFields.http,
  logLevel: observabilityFields.logLevel,
  logMessageBodies: handlerFields.logMessageBodies,
  logRedact: observabilityFields.logRedact,
  handler: handlerFields.handler,
  handlerBatchWindowMs: handlerFields.handlerBatchWindowMs,
  embedded: awsFields.embedded,
  maxReceiveCount: sqsFields.maxReceiveCount,
  tracing: observabilityFields.tracing,
};

/**
 * The whole configuration: every leaf is a field in Config's units, registered with the variable
 * that sets it (see leaves.ts). Parsing it validates every field and the cross-field rules and
 * returns a deeply frozen Config.
 */
export const configSchema = z.strictObject(fields).superRefine(crossRules).readonly();

export type Config = z.output<typeof configSchema>;

/** The one variable that sets no field: it names the profile file read before the environment. */
export const profileVariable: LeafMeta = {
  name: 'CONFIG_PROFILE',
  rule: 'a file name under config/ without .json (lower-case letters, digits, - and _)',
  fieldRule: 'a file name under config/ without .json (lower-case letters, digits, - and _)',
  description:
    'Loads `config/<profile>.json` (an object of these variables) before the environment; the environment wins.',
  fromEnv: reader(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'not a profile name')),
};
