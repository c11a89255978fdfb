import type { Handler } from '../core/handler.js';

export interface LogHandlerOptions {
  /** LOG_MESSAGE_BODIES: also log the body and the attribute values (default: metadata only). */
  readonly bodies?: boolean;
}

/**
 * HANDLER=log: logs what arrived and succeeds. By default only metadata (size and kind of body,
 * attribute names; the delivery's logger adds messageId, key, receiveCount, attempt and fence),
 * never the body or the attribute values, which may carry personal data or secrets. LOG_MESSAGE_BODIES=true adds them;
 * the logger still redacts secret-looking names in them (observability/logger.ts).
 */
export function logHandler(options: LogHandlerOptions = {}): Handler {
  return (message, context) => {
    context.logger.info(
      {
        bodyBytes: Buffer.byteLength(message.rawBody, 'utf8'),
        bodyKind: message.body === message.rawBody ? 'text' : 'json',
        attributeNames: Object.keys(message.attributes).sort(),
        ...(options.bodies ? { body: message.body, attributes: message.attributes } : {}),
      },
      'handled message',
    );
  };
}
