import { ENVELOPE_MODES } from '../core/envelope.js';
import {
  duration,
  durationOrZero,
  env,
  flag,
  group,
  httpUrl,
  maybe,
  oneOf,
  pattern,
  text,
} from './leaves.js';

/**
 * What is done with each message: the handler, its time limit and batch window, the checks and
 * envelopes of bodies, and the settings of the built-in handlers (webhook, log).
 * Part of the one config schema (schema.ts), which lists the fields in the documented order.
 */
export const handlerFields = {
  /** 0: no timeout. */
  handlerTimeoutMs: env('HANDLER_TIMEOUT', durationOrZero('no limit', 0.01, 43200), {
    default: '300',
    description:
      'Longest a handler may run, in seconds; then its AbortSignal fires and the message is retried. 0: no limit.',
  }),
  /** Path of a JSON Schema every body must satisfy. */
  messageSchema: env('MESSAGE_SCHEMA', maybe(text('a path to a JSON Schema file')), {
    description:
      'When set, bodies must be JSON and valid against this JSON Schema (draft 2020-12 or 7); others are dead-lettered.',
  }),
  messageEnvelope: env('MESSAGE_ENVELOPE', oneOf(ENVELOPE_MODES), {
    default: 'none',
    description:
      'Bodies arrive in an envelope to open first: `sns` (SNS subscription, no raw delivery), `eventbridge` (EventBridge rule target), `auto` (by shape) or `none`. The handler gets the inner message, the default key is the envelope id; a malformed envelope is dead-lettered.',
  }),
  webhook: group({
    url: env('WEBHOOK_URL', maybe(httpUrl('credentials go in WEBHOOK_HEADERS')), {
      description:
        'HANDLER=webhook: where each message is POSTed. No user name or password in it (refused: put credentials in WEBHOOK_HEADERS); query values are redacted wherever the URL is logged or stored.',
    }),
    headers: env(
      'WEBHOOK_HEADERS',
      maybe(
        pattern(
          /^[!#$%&'*+.^_`|~0-9A-Za-z-]+=[^,\r\n\0]*(,[!#$%&'*+.^_`|~0-9A-Za-z-]+=[^,\r\n\0]*)*$/,
          'not name=value pairs',
          'name=value pairs, comma-separated (header names, values without commas)',
        ),
      ),
      {
        description:
          'HANDLER=webhook: headers sent with every POST, e.g. `authorization=Bearer <token>`: where credentials go (never in WEBHOOK_URL). Never logged.',
        secret: true,
      },
    ),
    timeoutMs: env('WEBHOOK_TIMEOUT', duration(0.001, 3600), {
      default: '10',
      description: 'HANDLER=webhook: timeout of one POST, in seconds.',
    }),
  }),
  logMessageBodies: env('LOG_MESSAGE_BODIES', flag(), {
    default: 'false',
    description:
      'HANDLER=log: also log each body and its attribute values (redacted like every log line). Off: ids, key, sizes and attribute names only.',
  }),
  handler: env(
    'HANDLER',
    maybe(
      text(
        'a built-in handler name (log, webhook) or a path to a module exporting handle(message, context) or handleBatch(messages, context); required when SQS_QUEUE_URL is set',
      ),
    ),
    {
      description:
        'What is done with each message: the path of your module exporting handle(message, context) or handleBatch(messages, context), or `log` (logs and deletes each message) or `webhook` (POSTs each to WEBHOOK_URL). Required with SQS_QUEUE_URL (a real queue): without it the worker exits 2. Unset in embedded mode: `log`.',
    },
  ),
  handlerBatchWindowMs: env(
    'HANDLER_BATCH_WINDOW',
    durationOrZero('the next turn of the event loop', 0.001, 10),
    {
      default: '0.01',
      description:
        'For a handler module exporting handleBatch: how long the first claimed message waits for others before handleBatch runs, in seconds; a batch of SQS_BATCH_SIZE goes at once.',
    },
  ),
};
