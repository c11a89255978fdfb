import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RetryableError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { webhookHandler } from '../../src/handlers/webhook.js';
import { message } from '../helpers/fakes.js';

/** Issue 20, item 2: credentials never travel in URLs, and the URL never carries them into text. */
const context = () => ({
  signal: new AbortController().signal,
  logger: silentLogger,
  fencingToken: 1,
  attempt: 1,
});

async function failure(run: () => Promise<unknown>): Promise<Error> {
  return run().then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error,
  );
}

describe('webhook credentials (issue 20)', () => {
  it('a URL with userinfo given in code: the error (logged, stored as lastError) has no password nor query value', async () => {
    const handle = webhookHandler({ url: 'http://u:pass@127.0.0.1:9/hook?api_key=K', timeoutMs: 1000 });
    const error = await failure(() => Promise.resolve(handle(message('k'), context())));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).not.toContain('pass');
    expect(error.message).not.toContain('api_key=K');
    expect(error.message).toContain('http://127.0.0.1:9/hook?api_key=[redacted]');
  });

  it('a refused connection names the URL without its query values', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const handle = webhookHandler({ url: `http://127.0.0.1:${port}/hook?sig=S3CRET`, timeoutMs: 1000 });
    const error = await failure(() => Promise.resolve(handle(message('k'), context())));
    expect(error.message).not.toContain('S3CRET');
  });

  it('sends WEBHOOK_HEADERS with every POST', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server: Server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume().on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const handle = webhookHandler({
        url,
        timeoutMs: 2000,
        headers: 'authorization=Bearer abc==,x-api-key=K1',
      });
      await handle(message('k', { a: 1 }), context());
      expect(seen[0]?.authorization).toBe('Bearer abc==');
      expect(seen[0]?.['x-api-key']).toBe('K1');
      expect(seen[0]?.['idempotency-key']).toBe('k');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
