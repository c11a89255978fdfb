import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { batchingHandler } from '../core/batch-handler.js';
import { ConfigError, describeError } from '../core/errors.js';
import type { BatchHandler, Handler } from '../core/handler.js';
import { logHandler } from './log.js';
import { webhookHandler } from './webhook.js';

export interface HandlerSettings {
  readonly webhook: {
    readonly url: string | undefined;
    readonly timeoutMs: number;
    readonly headers?: string | undefined;
  };
  /** LOG_MESSAGE_BODIES: the log handler writes bodies and attribute values too. */
  readonly logMessageBodies?: boolean;
  /** SQS_QUEUE_URL: set means a real queue, where HANDLER must be named; unset is embedded mode. */
  readonly queueUrl?: string | undefined;
  /** HANDLER_BATCH_WINDOW, for a module exporting handleBatch (default DEFAULT_BATCH_WINDOW_MS). */
  readonly handlerBatchWindowMs?: number;
  /** SQS_BATCH_SIZE: the largest batch handed to handleBatch (default 10). */
  readonly batchSize?: number;
}

/** HANDLER_BATCH_WINDOW's default, in ms. */
export const DEFAULT_BATCH_WINDOW_MS = 10;

const BUILT_IN: Readonly<Record<string, (settings: HandlerSettings) => Handler>> = {
  log: ({ logMessageBodies }) => logHandler({ bodies: logMessageBodies === true }),
  webhook: ({ webhook }) => {
    if (!webhook.url) throw new ConfigError('WEBHOOK_URL', 'WEBHOOK_URL is required when HANDLER=webhook');
    return webhookHandler({ url: webhook.url, timeoutMs: webhook.timeoutMs, headers: webhook.headers });
  },
};

/** What embedded mode runs when HANDLER is unset: a demo that logs each message and deletes it. */
const EMBEDDED_DEFAULT = 'log';

/**
 * The error for a real queue (SQS_QUEUE_URL set) without HANDLER. It used to mean `log`, which
 * logs and deletes every message of a production queue; now a handler is chosen explicitly there.
 */
function handlerNotSet(): ConfigError {
  return new ConfigError(
    'HANDLER',
    'HANDLER is not set: with SQS_QUEUE_URL set (a real queue) the worker does not guess what to do with ' +
      'its messages. Set HANDLER to the path of your module exporting handle(message, context) ' +
      '(e.g. HANDLER=/app/handler/dist/handler.js in an image built FROM the worker image), or to a built-in: ' +
      `${Object.keys(BUILT_IN).join(', ')} (HANDLER=log logs and deletes every message; webhook POSTs each to WEBHOOK_URL). ` +
      'See docs/deploy.md, "Your handler in production".',
  );
}

/**
 * HANDLER is a built-in name or a path to a module exporting `handle(message, context)` or
 * `handleBatch(messages, context)` (core/batch-handler.ts; when it exports both, handleBatch is
 * used). Unset, it is `log` in embedded mode and a ConfigError on a real queue.
 */
export async function resolveHandler(spec: string | undefined, settings: HandlerSettings): Promise<Handler> {
  if (spec === undefined) {
    if (settings.queueUrl !== undefined) throw handlerNotSet();
    return resolveHandler(EMBEDDED_DEFAULT, settings);
  }
  const builtIn = BUILT_IN[spec];
  if (builtIn) return builtIn(settings);
  if (!/[/\\.]/.test(spec)) {
    throw new ConfigError(
      'HANDLER',
      `HANDLER=${JSON.stringify(spec)} is not a built-in handler (${Object.keys(BUILT_IN).join(', ')}) nor a module path`,
    );
  }
  const loaded = await loadModule(spec);
  if (typeof loaded.handleBatch === 'function') {
    return batchingHandler(loaded.handleBatch as BatchHandler, {
      windowMs: settings.handlerBatchWindowMs ?? DEFAULT_BATCH_WINDOW_MS,
      maxSize: settings.batchSize ?? 10,
    });
  }
  if (typeof loaded.handle !== 'function') {
    throw new ConfigError(
      'HANDLER',
      `HANDLER=${JSON.stringify(spec)}: module must export a function named handle or handleBatch`,
    );
  }
  return loaded.handle as Handler;
}

async function loadModule(spec: string): Promise<{ handle?: unknown; handleBatch?: unknown }> {
  try {
    return (await import(pathToFileURL(resolve(spec)).href)) as { handle?: unknown; handleBatch?: unknown };
  } catch (error) {
    throw new ConfigError(
      'HANDLER',
      `HANDLER=${JSON.stringify(spec)}: cannot load module (${describeError(error)})`,
      { cause: error },
    );
  }
}
