import { describeError } from '../core/errors.js';
import { CENSOR, isSecretName } from './logger.js';

/** The most of an error's text the status page keeps. */
export const MAX_ERROR_CHARS = 300;
/** Body strings shorter than this are left in an error's text (too common to mean the body). */
const MIN_BODY_CHARS = 6;
/** The most body strings looked for in one error's text. */
const MAX_BODY_STRINGS = 64;

export const BODY_CENSOR = '[body]';

/**
 * An error as the status page shows it: `Name: message`, as the logs write it, with what must not
 * leave the process taken out, since the page may be seen by more people than the logs:
 * - the message body: the raw body, and each string of the parsed body of MIN_BODY_CHARS or more,
 *   become `[body]` (a handler that put the body in its error message does not show it here);
 * - secrets: `name=value`, `name: value` and `"name":"value"` where `name` is one the log
 *   redaction censors (REDACTED_NAMES, the endings, and LOG_REDACT's `extra`), and bearer or
 *   basic credentials, become `[redacted]`;
 * - length: at most MAX_ERROR_CHARS characters.
 */
export function redactErrorText(
  error: unknown,
  body: { readonly rawBody: string; readonly body: unknown },
  extra: ReadonlySet<string> = new Set(),
): string {
  let text = describeError(error);
  for (const piece of bodyStrings(body)) text = text.split(piece).join(BODY_CENSOR);
  text = text.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${CENSOR}`);
  text = text.replace(
    /(["']?)([A-Za-z][\w.-]*)\1(\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&}\])]+)/g,
    (whole, quote: string, name: string, sep: string) =>
      isSecretName(name, extra) ? `${quote}${name}${quote}${sep}${CENSOR}` : whole,
  );
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}

/** The raw body and the parsed body's strings worth looking for, longest first. */
function bodyStrings({ rawBody, body }: { readonly rawBody: string; readonly body: unknown }): string[] {
  const found = new Set<string>();
  if (rawBody.length >= MIN_BODY_CHARS) found.add(rawBody);
  const walk = (value: unknown, depth: number): void => {
    if (found.size >= MAX_BODY_STRINGS || depth > 8) return;
    if (typeof value === 'string') {
      if (value.length >= MIN_BODY_CHARS) found.add(value);
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, depth + 1);
    } else if (value !== null && typeof value === 'object') {
      for (const item of Object.values(value)) walk(item, depth + 1);
    }
  };
  walk(body, 0);
  return [...found].sort((a, b) => b.length - a.length);
}
