import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';

/** Every error the sidecar answers has this body; `field` names the offending input on 400. */
export interface ErrorBody {
  readonly error: string;
  readonly message: string;
  readonly field?: string | undefined;
}

export function sendError(
  reply: FastifyReply,
  status: number,
  message: string,
  field?: string,
): FastifyReply {
  const body: ErrorBody = {
    error: STATUS_CODES[status] ?? 'Error',
    message,
    field,
  };
  return reply.code(status).send(body);
}

/**
 * Validation errors become 400 naming the field (dotted path, e.g. `messages.0.key`); Fastify's
 * own client errors (413 body too large, 415, 429 from the rate limit) keep their status; anything
 * else is a 500 whose details go to the log, never to the client.
 */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) {
    const { field, message } = describeValidation(error, request);
    return sendError(reply, 400, message, field);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500)
    return sendError(reply, status, error.message, clientErrorField(error, status));
  request.log.error({ err: error }, 'request failed');
  return sendError(reply, 500, 'internal error');
}

/**
 * What a client error of Fastify's own is about: the content type (415), or the body (413, and a
 * 400 that is no schema's: malformed or empty JSON, a `__proto__` key, a bad content-length).
 */
function clientErrorField(error: FastifyError, status: number): string | undefined {
  if (status === 415) return 'content-type';
  if (status === 413 || status === 400) return 'body';
  return error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' ? 'content-length' : undefined;
}

function describeValidation(
  error: FastifyError,
  request: FastifyRequest,
): { field: string; message: string } {
  const first = error.validation?.[0] as
    (FastifySchemaValidationError & { propertyName?: string }) | undefined;
  const params = (first?.params ?? {}) as { additionalProperty?: string; missingProperty?: string };
  const path = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const prefix = path === '' ? '' : `${path}.`;
  const where = error.validationContext === 'querystring' ? ' in the query string' : '';
  if (params.additionalProperty !== undefined) {
    const field = prefix + params.additionalProperty;
    if (field === '') return { field: 'query', message: `a parameter without a name${where}` };
    return { field, message: `unknown field ${field}${where}` };
  }
  if (params.missingProperty !== undefined) {
    const field = prefix + params.missingProperty;
    return { field, message: `${field} is required` };
  }
  if (first?.propertyName !== undefined) {
    const field = prefix + first.propertyName;
    return { field, message: `${field}: not a valid name` };
  }
  const field = path || (request.method === 'GET' ? 'query' : 'body');
  return { field, message: `${field} ${first?.message ?? 'is invalid'}${where}` };
}
