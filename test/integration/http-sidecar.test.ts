import { connect } from 'node:net';
import { startEmbeddedApp, type RunningApp } from '../helpers/app.js';

/**
 * The sidecar of the whole app (embedded fauxqs and dynalite): input SQS refuses is a 400 before
 * any send (it was a 503 after fauxqs refused it, or a stack overflow), the configured request
 * timeout reaches the listening server, and a token in a query string stays out of the log.
 */

const TOKEN = 'integration-token-5e0c1b7d';
let running: RunningApp;

beforeAll(async () => {
  running = await startEmbeddedApp({ HTTP_REQUEST_TIMEOUT: '1', SEED_TOKEN: TOKEN });
});

afterAll(async () => {
  await running?.app.stop();
});

async function seed(payload: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${running.http}/seed`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: payload,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the sidecar of the embedded app', () => {
  it.each([
    ['NUL', '"a\\u0000b"'],
    ['U+0001', '"a\\u0001b"'],
    ['U+FFFE', '"a\\ufffeb"'],
    ['a lone surrogate', '"a\\ud800b"'],
    ['10,000 levels of nesting', `${'['.repeat(10_000)}1${']'.repeat(10_000)}`],
  ])('answers a body with %s with 400 naming messages.0.body', async (_what, body) => {
    const res = await seed(`{"messages":[{"body":"fine"}]}`.replace('"fine"', body));
    expect(res).toEqual({ status: 400, body: expect.objectContaining({ field: 'messages.0.body' }) });
  });

  it('still sends what SQS takes', async () => {
    // No character above U+FFFF: real SQS takes them, fauxqs does not (shared/FACTS.md).
    const res = await seed(JSON.stringify({ messages: [{ body: 'tab\there \ufffd', key: 'ok-1' }] }));
    expect(res).toEqual({ status: 202, body: expect.objectContaining({ sent: 1, keys: ['ok-1'] }) });
  });

  it('closes a socket that announces a body and sends none, after HTTP_REQUEST_TIMEOUT', async () => {
    const { port } = new URL(running.http);
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => {});
    socket.write(
      'POST /seed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
    );
    // The deadline sits below the 10 s default, so that the default alone cannot pass this test,
    // and far above the configured 1 s (plus Node's check interval) on a busy machine.
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 8_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    socket.destroy();
    expect(closed).toBe(true);
    expect(received).toContain('HTTP/1.1 408 Request Timeout');
  });

  it('keeps a token sent in the query string out of the log', async () => {
    const res = await fetch(`${running.http}/records?token=${TOKEN}`);
    expect(res.status).toBe(401);
    expect(running.log.text).toContain('"url":"/records?token=[redacted]"');
    expect(running.log.text).not.toContain(TOKEN);
  });
});
