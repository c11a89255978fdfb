import type { FastifyReply, FastifyRequest } from 'fastify';
import { REDACTED } from '../config/url.js';

/**
 * A request URL as it may be logged or echoed: no user name or password (an absolute-form target
 * `http://user:pass@host/...` can carry them), and the value of every query parameter replaced by
 * `[redacted]` unless its name is one of the few known to be harmless. Deny by default: clients
 * put credentials in query strings under any name (`token`, `bearer`, `jwt`, `code`, `sig`...);
 * the routes never read them there, and the log and error answers must not keep them.
 */

export { REDACTED } from '../config/url.js';

/** The query parameters of our own routes and redirects, whose values are never secrets. */
const HARMLESS: ReadonlySet<string> = new Set([
  'limit',
  'status',
  'cursor',
  'seeded',
  'unique',
  'duplicates',
]);

export function safeUrl(url: string): string {
  const hash = url.indexOf('#');
  // A fragment is never sent by a well-behaved client; one that is sent is not ours to keep.
  const [target, fragment] =
    hash === -1 ? [url, ''] : [url.slice(0, hash), url.length > hash + 1 ? `#${REDACTED}` : '#'];
  const noUser = target.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
  const question = noUser.indexOf('?');
  if (question === -1) return noUser + fragment;
  const path = noUser.slice(0, question);
  // `;` separates parameters for some clients and servers: treat it as a separator too.
  const query = noUser.slice(question + 1).replace(/[^&;]+/g, redactParameter);
  return `${path}?${query}${fragment}`;
}

/** One `name=value` pair, its value redacted unless the name is a harmless one of ours. */
function redactParameter(pair: string): string {
  const equals = pair.indexOf('=');
  if (equals === -1 || equals === pair.length - 1) return pair;
  const name = pair.slice(0, equals);
  return HARMLESS.has(name) ? pair : `${name}=${REDACTED}`;
}

/**
 * The fields of an audit line: who, what, and the answer. Never a header, nor a credential from
 * the query string. Every route that audits its calls logs these.
 */
export function auditFields(request: FastifyRequest, reply: FastifyReply) {
  return {
    method: request.method,
    url: safeUrl(request.url),
    statusCode: reply.statusCode,
    remoteAddress: request.socket.remoteAddress,
    durationMs: Math.round(reply.elapsedTime),
  };
}
