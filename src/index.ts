/**
 * The library entry: embed the worker in your own program.
 *
 *   import { createWorker, PermanentError } from 'sqs-idempotent-worker';
 *   const worker = createWorker({
 *     handler: async (message, { signal, logger, fencingToken }) => { ... },
 *     config: { queueUrl: process.env.ORDERS_QUEUE_URL, http: { port: 9090 } },
 *   });
 *   await worker.start();
 *   process.once('SIGTERM', () => void worker.stop());
 *
 * The in-memory twins of the store and the queue, for tests, are in 'sqs-idempotent-worker/testing'.
 */
import { createApp, type App, type AppOverrides } from './app/app.js';
import { loadConfig, type Config, type DeepPartial, type Environment } from './config/load.js';
import { WorkerError } from './core/errors.js';
import type { Handler } from './core/handler.js';

export interface CreateWorkerOptions {
  /** Runs for every message that is not a duplicate. */
  readonly handler: Handler;
  /** Settings that win over the environment (same names as Config), validated with it. */
  readonly config?: DeepPartial<Config>;
  /** Where settings are read from; default process.env. */
  readonly env?: Environment;
  /** Replace any dependency the composition root creates (clock, store, log destination...). */
  readonly overrides?: Omit<AppOverrides, 'handler'>;
}

/** The oldest Node the worker runs on (package.json's engines; fauxqs needs node:sqlite). */
const MIN_NODE_MAJOR = 24;

/**
 * Refuses an older Node with that reason, before anything else: on Node 20 the first thing to
 * break used to be the embedded emulator, reported as "fauxqs is not installed".
 */
function checkNodeVersion(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= MIN_NODE_MAJOR) return;
  throw new WorkerError(
    'ERR_NODE_VERSION',
    `sqs-idempotent-worker needs Node >= ${MIN_NODE_MAJOR}, this is ${process.version} (${process.execPath}): ` +
      `run your program with Node ${MIN_NODE_MAJOR} (nvm install ${MIN_NODE_MAJOR}, or the node:${MIN_NODE_MAJOR} image)`,
  );
}

/** A worker with its sidecar, configured like the daemon; start() resolves once it polls. */
export function createWorker(options: CreateWorkerOptions): App {
  checkNodeVersion();
  const config = loadConfig(options.env ?? process.env, { overrides: options.config });
  return createApp(config, { ...options.overrides, handler: options.handler });
}

export type { App, AppEndpoints, AppOverrides } from './app/app.js';
export { loadConfig, withOverrides } from './config/load.js';
export type { Config, DeepPartial, Environment } from './config/load.js';
export type { BatchContext, BatchHandler, BatchOutcome, Handler, HandlerContext } from './core/handler.js';
export { batchingHandler, MissingBatchOutcomeError, type BatchingOptions } from './core/batch-handler.js';
export type { WorkerMessage } from './core/message.js';
export type { Envelope, EnvelopeMode, EventBridgeEnvelope, SnsEnvelope } from './core/envelope.js';
export type { Logger } from './core/logger.js';
export {
  ConfigError,
  HandlerTimeoutError,
  PermanentError,
  RetryableError,
  StoreUnavailableError,
  WorkerError,
} from './core/errors.js';
export type {
  Claim,
  ClaimRequest,
  ClaimResult,
  IdempotencyRecord,
  IdempotencyStore,
  ListPage,
  ListQuery,
  RecordStatus,
  RecordStore,
} from './core/idempotency-store.js';
export { CorruptRecordError, RECORD_STATUSES } from './core/idempotency-store.js';
export type { Outcome } from './core/pipeline.js';
export { REASONS, REASON_CODES } from './core/reasons.js';
export type { Reason, ReasonCode } from './core/reasons.js';
export { DEAD_LETTER_ATTRIBUTES } from './core/dead-letter.js';
export type {
  MessageAttribute,
  MessageAttributes,
  OutgoingMessage,
  Queue,
  ReceivedMessage,
  ReceiveRequest,
} from './core/queue.js';
export type { MessageEvent, RuntimeEvents } from './core/events.js';
