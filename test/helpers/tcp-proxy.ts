import { createServer, connect, type Server, type Socket } from 'node:net';
import { useResource } from './hooks.js';

export type ProxyMode = 'pass' | 'stall' | 'refuse';

/**
 * A TCP proxy on a loopback port in front of a server (an emulator), for outages that cross the
 * wire: `pass` forwards bytes both ways; `stall` accepts connections and reads requests but never
 * answers (open connections stall too, as a hung server's would); `refuse` stops listening, so
 * connecting fails with ECONNREFUSED. Going back to `pass` closes the stalled connections and
 * listens again on the same port.
 */
export class TcpProxy {
  readonly #target: { readonly host: string; readonly port: number };
  readonly #connections = new Set<{ client: Socket; upstream: Socket | undefined }>();
  #server: Server | undefined;
  #port = 0;
  #mode: ProxyMode = 'pass';
  /** Connections accepted while stalled (each is a request nobody answers). */
  stalledConnections = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  /** Starts a proxy to `targetUrl` (http://host:port) on a free loopback port. */
  static async start(targetUrl: string): Promise<TcpProxy> {
    const url = new URL(targetUrl);
    const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
    await proxy.#listen();
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  stall(): void {
    this.#mode = 'stall';
    for (const connection of this.#connections) this.#cut(connection);
  }

  async refuse(): Promise<void> {
    this.#mode = 'refuse';
    this.#dropAll();
    await this.#closeServer();
  }

  /** Forwards again; connections left from a stall are closed (their clients gave up on them). */
  async pass(): Promise<void> {
    this.#mode = 'pass';
    this.#dropAll();
    if (!this.#server) await this.#listen();
  }

  async close(): Promise<void> {
    this.#dropAll();
    await this.#closeServer();
  }

  #accept(client: Socket): void {
    const connection: { client: Socket; upstream: Socket | undefined } = { client, upstream: undefined };
    this.#connections.add(connection);
    client.on('error', () => client.destroy());
    client.on('close', () => {
      connection.upstream?.destroy();
      this.#connections.delete(connection);
    });
    if (this.#mode === 'stall') {
      this.stalledConnections += 1;
      client.resume(); // read the request, answer nothing
      return;
    }
    const upstream = connect(this.#target.port, this.#target.host);
    connection.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Stops forwarding on an open connection: from now on it swallows what it reads. */
  #cut(connection: { client: Socket; upstream: Socket | undefined }): void {
    const { client, upstream } = connection;
    if (!upstream) return;
    client.unpipe(upstream);
    upstream.unpipe(client);
    upstream.removeAllListeners('close');
    upstream.destroy();
    connection.upstream = undefined;
    client.resume();
  }

  #dropAll(): void {
    for (const { client, upstream } of this.#connections) {
      upstream?.destroy();
      client.destroy();
    }
    this.#connections.clear();
  }

  #listen(): Promise<void> {
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => {
        const address = server.address();
        if (address && typeof address === 'object') this.#port = address.port;
        resolve();
      });
    });
  }

  #closeServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

/**
 * A TcpProxy for the tests of a describe block, in front of `target()` (read in the `beforeAll`,
 * so it may name a resource started by an earlier one: `useTcpProxy(() => aws.emulators.sqsEndpoint)`).
 */
export function useTcpProxy(target: () => string): TcpProxy {
  return useResource(
    'useTcpProxy()',
    () => TcpProxy.start(target()),
    (proxy) => proxy.close(),
  );
}
