import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';

/**
 * What every request must be before any route sees it, and what Fastify's own errors may say.
 * - One Host header: a second one is a 400 (two servers on the path could each read another).
 * - No content coding: the sidecar decodes none, so `Content-Encoding` other than `identity` is a
 *   415 instead of a compressed body parsed as if it were plain.
 * - JSON and form bodies must be valid UTF-8: a 400, never U+FFFD in place of the bad bytes
 *   (keys `k-\xff` and `k-\xfe` would both become `k-\uFFFD`, one a duplicate of the other).
 * - Fastify's framework errors (a malformed URL...) answer without echoing the URL.
 */

const FATAL_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** An onRequest hook for the whole server. */
export async function requestHygiene(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  if (headerCount(request.raw.rawHeaders, 'host') > 1) {
    return sendError(reply, 400, 'more than one Host header', 'host');
  }
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && !/^\s*identity\s*$/i.test(String(encoding))) {
    return sendError(
      reply,
      415,
      'Content-Encoding is not supported: send the body uncompressed (identity)',
      'content-encoding',
    );
  }
  return undefined;
}

function headerCount(raw: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) count += 1;
  return count;
}

/** The body as text, or a 400 error when its bytes are not UTF-8. */
export function decodeUtf8(body: Buffer): string | FastifyError {
  try {
    return FATAL_UTF8.decode(body);
  } catch {
    return Object.assign(new Error('the body is not valid UTF-8'), {
      statusCode: 400,
      code: 'ERR_BODY_NOT_UTF8',
      name: 'BodyError',
    }) as FastifyError;
  }
}

/** Replaces Fastify's JSON parser (which decodes leniently) with one that refuses invalid UTF-8. */
export function strictJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const text = decodeUtf8(body as Buffer);
    if (typeof text !== 'string') {
      done(text, undefined);
      return;
    }
    parse(request, text, done);
  });
}

/** Fastify's own early errors (bad URL, too long a parameter): the status, never the URL. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode ?? 400;
  const message =
    error.code === 'FST_ERR_BAD_URL'
      ? 'the URL is not valid (a malformed percent-encoding?)'
      : `the request was refused (${error.code})`;
  void sendError(reply, status, message, 'url');
}
