import type { Handler } from '../core/handler.js';

/** The default handler: logs the message and succeeds. */
export const logHandler: Handler = (message, context) => {
  context.logger.info(
    {
      body: message.body,
      attributes: message.attributes,
      attempt: context.attempt,
      fence: context.fencingToken,
    },
    'handled message',
  );
};
