import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { webhookHandler } from '../../src/handlers/webhook.js';
import type { MessageEvent } from '../../src/core/events.js';
import { fixture, receiveAll, runtime, send, useTestAws } from '../helpers/aws.js';
import { message } from '../helpers/fakes.js';
import { eventually } from '../helpers/process.js';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A real HTTP server on loopback whose next answers the test decides. */
async function receiver() {
  const received: Received[] = [];
  let answer: (res: ServerResponse) => void = (res) => res.end('ok');
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      answer(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answer: (fn: typeof answer) => (answer = fn),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const context = (signal = new AbortController().signal) => ({
  signal,
  logger: silentLogger,
  fencingToken: 3,
  attempt: 1,
});

describe('webhook handler against a local HTTP server', () => {
  let hook: Awaited<ReturnType<typeof receiver>>;

  beforeEach(async () => {
    hook = await receiver();
  });

  afterEach(async () => {
    await hook.close();
  });

  it('POSTs the body with the Idempotency-Key header and succeeds on 2xx', async () => {
    hook.answer((res) => res.writeHead(201).end());
    const handle = webhookHandler({ url: hook.url, timeoutMs: 2000 });
    await expect(handle(message('order-7', { total: 12 }), context())).resolves.toEqual({ status: 201 });
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]?.body).toBe('{"total":12}');
    expect(hook.received[0]?.headers['idempotency-key']).toBe('order-7');
    expect(hook.received[0]?.headers['content-type']).toBe('application/json');
    expect(hook.received[0]?.headers['x-idempotency-fence']).toBe('3');
  });

  it.each([408, 429, 500, 503])('treats %i as retryable', async (status) => {
    hook.answer((res) => res.writeHead(status).end('busy'));
    const handle = webhookHandler({ url: hook.url, timeoutMs: 2000 });
    await expect(handle(message('k'), context())).rejects.toBeInstanceOf(RetryableError);
  });

  it('honours Retry-After', async () => {
    hook.answer((res) => res.writeHead(503, { 'retry-after': '7' }).end());
    const handle = webhookHandler({ url: hook.url, timeoutMs: 2000 });
    const error = (await Promise.resolve(handle(message('k'), context())).then(
      () => undefined,
      (e: unknown) => e,
    )) as RetryableError;
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.retryAfterMs).toBe(7000);
  });

  it.each([400, 404, 422])('treats %i as permanent', async (status) => {
    hook.answer((res) => res.writeHead(status).end('no such order'));
    const handle = webhookHandler({ url: hook.url, timeoutMs: 2000 });
    const error = await Promise.resolve(handle(message('k'), context())).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain(`${status}: no such order`);
  });

  it('times out as a retryable failure', async () => {
    hook.answer(() => {}); // never answers
    const handle = webhookHandler({ url: hook.url, timeoutMs: 200 });
    await expect(handle(message('k'), context())).rejects.toBeInstanceOf(RetryableError);
  });

  it('treats a refused connection as retryable', async () => {
    const handle = webhookHandler({ url: 'http://127.0.0.1:1/hook', timeoutMs: 2000 });
    await expect(handle(message('k'), context())).rejects.toBeInstanceOf(RetryableError);
  });
});

describe('webhook handler in the worker: an effectively-once SQS-to-HTTP bridge', () => {
  const aws = useTestAws();
  let hook: Awaited<ReturnType<typeof receiver>>;

  beforeAll(async () => {
    hook = await receiver();
  });

  afterAll(async () => {
    await hook.close();
  });

  it('delivers each key once and dead-letters what the receiver rejects', async () => {
    const f = await fixture(aws);
    hook.answer((res) => res.writeHead(200).end());
    const worker = await runtime(aws, f, webhookHandler({ url: hook.url, timeoutMs: 2000 }));
    const events: MessageEvent[] = [];
    worker.on('message_settled', (e) => events.push(e));
    await worker.start();
    await send(aws, f.queueUrl, [
      { body: '{"n":1}', key: 'a' },
      { body: '{"n":1}', key: 'a' },
    ]);
    await eventually(async () => (events.length === 2 ? true : undefined));
    expect(events.map((e) => e.processed.outcome).sort()).toEqual(['duplicate', 'success']);
    expect(hook.received.filter((r) => r.headers['idempotency-key'] === 'a')).toHaveLength(1);

    hook.answer((res) => res.writeHead(400).end('bad'));
    await send(aws, f.queueUrl, [{ body: '{"n":2}', key: 'b' }]);
    await eventually(async () => (events.length === 3 ? true : undefined));
    expect(events[2]?.processed.outcome).toBe('dead_lettered');
    const [dead] = await receiveAll(aws, f.dlqUrl);
    expect(dead?.MessageAttributes?.DeadLetterMessage?.StringValue).toContain('webhook answered 400');
    await worker.stop(0);
  });
});
