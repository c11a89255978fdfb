import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildServer, type HttpLimits } from '../../src/http/server.js';
import { OPEN, sidecarDeps } from '../helpers/sidecar.js';

/**
 * Issue 20, items 9 and 10, over real sockets: a client flood never keeps the probes out, and a
 * duplicate Host header is refused. No wall-clock waits: each step waits for a socket event or for
 * the server's own connection count.
 */

let app: FastifyInstance;
let port: number;
const sockets: Socket[] = [];

async function listen(limits: Partial<HttpLimits> = {}, records?: () => Promise<never>): Promise<void> {
  const deps = sidecarDeps({}, OPEN);
  app = buildServer({ ...deps, limits, seed: { ...deps.seed, ...(records ? { records } : {}) } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  port = address.port;
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await app.close();
});

async function open(): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** Sends `request` on a new connection; resolves with everything received until the server closes it. */
async function exchange(request: string): Promise<string> {
  const socket = await open();
  let data = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(request);
  await closed;
  return data;
}

/** Resolves once the server holds `count` connections (it counts them as it accepts them). */
async function serverHolds(count: number): Promise<void> {
  for (;;) {
    const held = await new Promise<number>((resolve, reject) =>
      app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
    );
    if (held >= count) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const probe = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 10.0.0.7:8080\r\nConnection: close\r\n\r\n`;

describe('probes under a connection flood (item 10)', () => {
  it('answers /healthz, /readyz and /metrics while 256 connections hold half-sent requests', async () => {
    await listen();
    const flood = [
      '',
      'GET /records HTTP/1.1\r\nHost: localhost\r\nX-Slow: ',
      'POST /seed HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 999\r\n\r\n{',
    ];
    for (let i = 0; i < 256; i += 1) {
      const socket = await open();
      const start = flood[i % flood.length] ?? '';
      if (start !== '') socket.write(start);
    }
    await serverHolds(256);
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect(await exchange(probe(path))).toMatch(/^HTTP\/1\.1 200 /);
    }
  });

  it('closes a new connection only when every connection carries a request being answered', async () => {
    let answering = 0;
    await listen({ maxConnections: 3 }, () => {
      answering += 1;
      return new Promise<never>(() => {});
    });
    for (let i = 0; i < 3; i += 1) {
      const socket = await open();
      socket.write('GET /records HTTP/1.1\r\nHost: localhost\r\n\r\n');
    }
    while (answering < 3) await new Promise((resolve) => setImmediate(resolve));
    expect(await exchange(probe('/healthz'))).toBe('');
  });
});

describe('a duplicate Host header (item 9)', () => {
  it('is a 400', async () => {
    await listen();
    const answer = await exchange(
      'GET /records HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('more than one Host header');
  });
});
