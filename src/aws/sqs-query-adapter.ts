import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeError } from '../core/errors.js';
import { QueryProtocolError, readInput, writeError, writeResponse } from './sqs-query-protocol.js';
import { OPERATIONS, SQS_ACTIONS } from './sqs-query-shapes.js';

/**
 * Teaches the embedded SQS emulator (fauxqs, which speaks only SQS's JSON protocol) the older query
 * protocol: form-encoded `Action=SendMessage&QueueUrl=...` requests answered with XML, as spoken by
 * Debian 12's awscli and python3-boto3 (botocore 1.29) and the AWS SDK for Java 1.x.
 *
 * It is a preParsing hook on fauxqs's own Fastify app, so it shares the port. A request is the
 * query protocol's when it is form-encoded or names `Action=` in its query string, and SQS's when
 * the action is one of SQS's (or its signature's scope names the service sqs). Such a request is
 * translated to the JSON protocol (`X-Amz-Target: AmazonSQS.<Action>`), answered by fauxqs in
 * process through `inject()`, and its answer or error written back as XML. Everything else (the
 * JSON protocol, which the worker uses; fauxqs's SNS and STS, which are query protocol too) goes on
 * untouched: for JSON the hook only looks at two headers and the URL.
 */
export function acceptQueryProtocol(app: FastifyInstance): void {
  const bodyLimit = app.initialConfig.bodyLimit ?? 1_048_576;
  // A callback hook, not an async one: the JSON protocol's requests go on in the same tick.
  app.addHook('preParsing', (request, reply, payload, done) => {
    const form = isForm(request.headers['content-type']);
    const query = queryOf(request.originalUrl);
    if (!form && !/(?:^|&)Action=/.test(query)) {
      done(null, payload);
      return;
    }
    answerIfSqs(app, request, reply, { payload, form, query, bodyLimit }).then(
      (next) => done(null, next),
      (error: Error) => done(error),
    );
  });
}

/**
 * Answers a query-protocol request for SQS and resolves with nothing (the request is done), or
 * resolves with the body to parse as before when the request is for another service (SNS, STS).
 */
async function answerIfSqs(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  incoming: { payload: Readable; form: boolean; query: string; bodyLimit: number },
): Promise<Readable | undefined> {
  const { payload, form, query, bodyLimit } = incoming;
  const body = form ? await readBody(payload, bodyLimit) : Buffer.alloc(0);
  if (body === undefined) {
    const requestId = randomUUID();
    const error = { code: 'RequestEntityTooLarge', message: `The request is over ${bodyLimit} bytes.` };
    void reply
      .code(413)
      .header('connection', 'close')
      .headers(answerHeaders(requestId))
      .send(writeError({ ...error, type: 'Sender' }, requestId));
    return undefined;
  }
  const params = formParams(query, body.toString('utf8'));
  if (!isSqs(params.get('Action'), request.headers.authorization)) {
    return form ? Readable.from([body]) : payload; // the bytes as they came
  }
  const answer = await answerQuery(app, request, params);
  void reply.code(answer.status).headers(answerHeaders(answer.requestId)).send(answer.xml);
  return undefined;
}

interface Answer {
  readonly status: number;
  readonly requestId: string;
  readonly xml: string;
}

async function answerQuery(
  app: FastifyInstance,
  request: FastifyRequest,
  params: ReadonlyMap<string, string>,
): Promise<Answer> {
  const action = params.get('Action') ?? '';
  const requestId = randomUUID();
  const operation = OPERATIONS[action];
  try {
    if (action === '') throw new QueryProtocolError('MissingAction', 'The request must name an Action.');
    if (operation === undefined) {
      throw new QueryProtocolError(
        'InvalidAction',
        `The action ${action} is not supported by the embedded SQS emulator's query protocol ` +
          `(supported: ${Object.keys(OPERATIONS).join(', ')}); the JSON protocol may have it.`,
      );
    }
    const input = readInput(params, operation.input);
    if ('QueueUrl' in operation.input.members && input.QueueUrl === undefined) {
      const url = queueUrlFromPath(request);
      if (url !== undefined) input.QueueUrl = url;
    }
    const res = await app.inject({
      method: 'POST',
      url: '/',
      headers: forwardedHeaders(request, action),
      payload: JSON.stringify(input),
    });
    const output = parseJson(res.body);
    if (res.statusCode >= 300) {
      const error = jsonError(res.statusCode, output, res.headers['x-amzn-query-error']);
      return { status: res.statusCode, requestId, xml: writeError(error, requestId) };
    }
    return { status: 200, requestId, xml: writeResponse(action, output, operation.output, requestId) };
  } catch (error) {
    // The adapter's own refusals are the sender's fault; anything else (fauxqs closing, a bug here)
    // is answered as SQS answers its own faults, so that the client sees an error it can retry.
    const answer =
      error instanceof QueryProtocolError
        ? { status: error.status, code: error.code, message: error.message, type: 'Sender' as const }
        : { status: 500, code: 'InternalError', message: describeError(error), type: 'Receiver' as const };
    return { status: answer.status, requestId, xml: writeError(answer, requestId) };
  }
}

/** The query protocol's error code and fault, from fauxqs's JSON error (x-amzn-query-error first). */
function jsonError(
  status: number,
  output: Record<string, unknown>,
  queryError: string | string[] | number | undefined,
): { code: string; message: string; type: 'Sender' | 'Receiver' } {
  const message = String(output.message ?? output.Message ?? output.error ?? `HTTP ${status}`);
  const [code, fault] = typeof queryError === 'string' ? queryError.split(';') : [];
  if (code !== undefined && code !== '') {
    return { code, message, type: fault === 'Receiver' ? 'Receiver' : 'Sender' };
  }
  const type = typeof output.__type === 'string' ? output.__type.split('#').at(-1) : undefined;
  return {
    code: type !== undefined && type !== '' ? type : status >= 500 ? 'InternalError' : 'InvalidRequest',
    message,
    type: status >= 500 ? 'Receiver' : 'Sender',
  };
}

function forwardedHeaders(request: FastifyRequest, action: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': `AmazonSQS.${action}`,
  };
  // fauxqs reads the region from the signature's scope and builds queue URLs from the host.
  for (const name of ['host', 'authorization', 'x-amz-date', 'user-agent']) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/** Clients such as the AWS SDK for Java 1.x post to the queue's URL instead of naming QueueUrl. */
function queueUrlFromPath(request: FastifyRequest): string | undefined {
  const path = request.originalUrl.split('?', 1)[0] ?? '/';
  if (path === '/' || path === '') return undefined;
  return `http://${request.headers.host ?? 'localhost'}${path}`;
}

function isSqs(action: string | undefined, authorization: string | undefined): boolean {
  if (action !== undefined && SQS_ACTIONS.has(action)) return true;
  return typeof authorization === 'string' && /\/sqs\/aws4_request/.test(authorization);
}

function isForm(contentType: string | undefined): boolean {
  return contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded') ?? false;
}

function queryOf(url: string): string {
  const at = url.indexOf('?');
  return at === -1 ? '' : url.slice(at + 1);
}

/** The query string's parameters, then the body's (a body value wins). */
function formParams(query: string, body: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(query)) params.set(key, value);
  for (const [key, value] of new URLSearchParams(body)) params.set(key, value);
  return params;
}

/** The whole body, or undefined when it passes `limit` bytes. */
async function readBody(payload: Readable, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even past the limit: leaving the loop would destroy the request, and with it
  // the socket the error answer is written to.
  for await (const chunk of payload) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size <= limit) chunks.push(buffer);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

function parseJson(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return { message: text };
  }
}

function answerHeaders(requestId: string): Record<string, string> {
  return { 'content-type': 'text/xml', 'x-amzn-requestid': requestId };
}
