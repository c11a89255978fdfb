import { credentialFreeUrl } from '../config/url.js';
import { PermanentError, RetryableError } from '../core/errors.js';
import type { Handler } from '../core/handler.js';

export interface WebhookOptions {
  readonly url: string;
  readonly timeoutMs: number;
  /** WEBHOOK_HEADERS: `name=value` pairs, comma-separated, sent with every POST (credentials go here). */
  readonly headers?: string | undefined;
}

const MAX_RETRY_AFTER_MS = 12 * 60 * 60 * 1000;

/**
 * HANDLER=webhook: POSTs each message's body to WEBHOOK_URL, with the idempotency key in an
 * `Idempotency-Key` header so the receiver can deduplicate too. 2xx is success; 408, 429 and 5xx
 * (and network errors, timeouts) are retried, honouring Retry-After; other statuses are permanent
 * and dead-letter the message.
 */
export function webhookHandler(options: WebhookOptions): Handler {
  const extra = parseHeaders(options.headers);
  const shownUrl = credentialFreeUrl(options.url);
  return async (message, context) => {
    const json = typeof message.body !== 'string';
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: 'POST',
        headers: {
          ...extra,
          'content-type': json ? 'application/json' : 'text/plain; charset=utf-8',
          'idempotency-key': message.key,
          'x-sqs-message-id': message.messageId,
          'x-sqs-receive-count': String(message.receiveCount),
          'x-idempotency-fence': String(context.fencingToken),
        },
        body: message.rawBody,
        signal: AbortSignal.any([context.signal, AbortSignal.timeout(options.timeoutMs)]),
      });
    } catch (error) {
      // The message is logged and stored as the record's lastError: never the URL's credentials.
      const reason = withoutUrl((error as Error).message, options.url, shownUrl);
      throw new RetryableError(`webhook POST to ${shownUrl} failed: ${reason}`, { cause: error });
    }
    // Read (and so release) the body; a short excerpt helps when the call failed.
    const excerpt = (await response.text().catch(() => '')).slice(0, 200);
    if (response.ok) return { status: response.status };
    const detail = `webhook answered ${response.status}${excerpt ? `: ${excerpt}` : ''}`;
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
      throw new RetryableError(detail, { retryAfterMs });
    }
    throw new PermanentError(detail);
  };
}

/** `a=1,b=2` as headers; the config checked the syntax (a value may hold `=`, never a comma). */
export function parseHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text === undefined || text === '' ? [] : text.split(',')) {
    const equals = pair.indexOf('=');
    if (equals > 0) headers[pair.slice(0, equals).trim().toLowerCase()] = pair.slice(equals + 1).trim();
  }
  return headers;
}

/** An error text with the URL (as given, or as fetch normalised it) replaced by its shown form. */
function withoutUrl(text: string, url: string, shown: string): string {
  const normalised = URL.canParse(url) ? new URL(url).href : url;
  return text.split(url).join(shown).split(normalised).join(shown);
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}
