import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A request URL as it may be logged or echoed: the value of every query parameter whose name
 * looks like a credential is replaced by `[redacted]`. Clients put tokens in query strings by
 * mistake (`/records?token=...`); the routes never read them, and the log must not keep them.
 */

export const REDACTED = '[redacted]';

/**
 * Parameter names that carry credentials, matched case-insensitively anywhere in the decoded
 * name: `token`, `access_token`, `X-Amz-Security-Token`, `apiKey`, `client_secret`, `Password`,
 * `X-Amz-Signature`, `sig`, `auth`, `session_id`... Over-matching (`monkey`) costs only a value.
 */
const CREDENTIAL = /token|key|secret|passw|pwd|signature|^sig$|auth|credential|session|cookie/i;

export function safeUrl(url: string): string {
  const hash = url.indexOf('#');
  // A fragment is never sent by a well-behaved client; one that is sent is not ours to keep.
  const [target, fragment] =
    hash === -1 ? [url, ''] : [url.slice(0, hash), url.length > hash + 1 ? `#${REDACTED}` : '#'];
  const question = target.indexOf('?');
  if (question === -1) return target + fragment;
  const path = target.slice(0, question);
  // `;` separates parameters for some clients and servers: treat it as a separator too.
  const query = target.slice(question + 1).replace(/[^&;]+/g, redactParameter);
  return `${path}?${query}${fragment}`;
}

/** One `name=value` pair, its value redacted when the name is a credential's. */
function redactParameter(pair: string): string {
  const equals = pair.indexOf('=');
  if (equals === -1 || equals === pair.length - 1) return pair;
  const name = pair.slice(0, equals);
  return CREDENTIAL.test(decodeName(name)) || CREDENTIAL.test(name) ? `${name}=${REDACTED}` : pair;
}

/** The name as the server would read it; a malformed escape leaves it as sent. */
function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
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
