import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildServer, type HttpLimits } from '../../src/http/server.js';
import { eventually } from '../helpers/process.js';
import { WITH_TOKEN, sidecarDeps } from '../helpers/sidecar.js';

/**
 * Slow and stalled clients, over real sockets against a listening server with short limits. Each
 * test waits for the server to close the socket (the 'close' event), bounded by a deadline far
 * above the limit; nothing asserts how long it took.
 */

const SHORT: Partial<HttpLimits> = {
  requestTimeoutMs: 300,
  headersTimeoutMs: 300,
  keepAliveTimeoutMs: 300,
  maxConnections: 4,
  // Node looks for timed-out requests this often (its default is 30 s).
  timeoutCheckIntervalMs: 50,
};
const DEADLINE_MS = 10_000;

let app: FastifyInstance;
let port: number;
const sockets: Socket[] = [];

async function listen(limits: Partial<HttpLimits>): Promise<void> {
  app = buildServer({ ...sidecarDeps({}, WITH_TOKEN), limits });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  port = address.port;
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await app.close();
});

/** A connected socket that collects what it receives. */
async function open(): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  let data = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve).once('error', reject);
  });
  return { socket, received: () => data };
}

/** Resolves true when the server closes the socket, false if it is still open at the deadline. */
function closedByServer(socket: Socket): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), DEADLINE_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const STALLED_POST = (path: string) =>
  `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;

describe('sidecar timeouts and limits (real sockets)', () => {
  it.each(['/seed', '/records', '/healthz', '/nowhere'])(
    'closes a socket that announces a body on POST %s and never sends it, with 408',
    async (path) => {
      await listen(SHORT);
      const { socket, received } = await open();
      socket.write(STALLED_POST(path));
      expect(await closedByServer(socket)).toBe(true);
      // /seed may answer 401 first: the token check runs before the body is read.
      expect(received()).toMatch(/HTTP\/1\.1 408 Request Timeout[^]*"error":"Request Timeout"/);
    },
  );

  it('closes a socket that sends half its headers and then nothing', async () => {
    await listen(SHORT);
    const { socket } = await open();
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    expect(await closedByServer(socket)).toBe(true);
  });

  it('closes a socket that connects and sends nothing', async () => {
    await listen(SHORT);
    const { socket } = await open();
    expect(await closedByServer(socket)).toBe(true);
  });

  it('closes an idle keep-alive socket after its answer', async () => {
    await listen(SHORT);
    const { socket, received } = await open();
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(await closedByServer(socket)).toBe(true);
    expect(received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('over the cap, a new connection replaces the oldest stalled one (issue 20), and all serve again', async () => {
    await listen({ ...SHORT, requestTimeoutMs: 60_000, headersTimeoutMs: 60_000 });
    const held = [];
    for (let i = 0; i < 4; i += 1) {
      const { socket } = await open();
      socket.write(STALLED_POST('/seed'));
      held.push(socket);
    }
    // The fifth connection is served; the oldest stalled one gave way to it.
    const { socket: fifth, received } = await open();
    fifth.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(await closedByServer(held[0] as Socket)).toBe(true);
    expect(await closedByServer(fifth)).toBe(true);
    expect(received()).toMatch(/^HTTP\/1\.1 200 /);
    for (const socket of held) socket.destroy();
    const status = await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      return res?.status === 200 ? res.status : undefined;
    }, DEADLINE_MS);
    expect(status).toBe(200);
  });
});
