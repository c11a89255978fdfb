import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, describeError } from '../core/errors.js';
import type { Handler } from '../core/handler.js';
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
}

const BUILT_IN: Readonly<Record<string, (settings: HandlerSettings) => Handler>> = {
  log: ({ logMessageBodies }) => logHandler({ bodies: logMessageBodies === true }),
  webhook: ({ webhook }) => {
    if (!webhook.url) throw new ConfigError('WEBHOOK_URL', 'WEBHOOK_URL is required when HANDLER=webhook');
    return webhookHandler({ url: webhook.url, timeoutMs: webhook.timeoutMs, headers: webhook.headers });
  },
};

/** HANDLER is a built-in name or a path to a module exporting `handle(message, context)`. */
export async function resolveHandler(spec: string, settings: HandlerSettings): Promise<Handler> {
  const builtIn = BUILT_IN[spec];
  if (builtIn) return builtIn(settings);
  if (!/[/\\.]/.test(spec)) {
    throw new ConfigError(
      'HANDLER',
      `HANDLER=${JSON.stringify(spec)} is not a built-in handler (${Object.keys(BUILT_IN).join(', ')}) nor a module path`,
    );
  }
  let loaded: { handle?: unknown };
  try {
    loaded = (await import(pathToFileURL(resolve(spec)).href)) as { handle?: unknown };
  } catch (error) {
    throw new ConfigError(
      'HANDLER',
      `HANDLER=${JSON.stringify(spec)}: cannot load module (${describeError(error)})`,
      {
        cause: error,
      },
    );
  }
  if (typeof loaded.handle !== 'function') {
    throw new ConfigError(
      'HANDLER',
      `HANDLER=${JSON.stringify(spec)}: module must export a function named handle`,
    );
  }
  return loaded.handle as Handler;
}
