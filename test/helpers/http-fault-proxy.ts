import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * An HTTP proxy on a loopback port in front of a DynamoDB endpoint (dynalite, DynamoDB Local) that
 * can answer a write ambiguously, as DynamoDB sometimes does: the request is forwarded and applied,
 * and the client gets a 500 InternalServerError instead of the answer. The SDK then retries the
 * same request, which meets the effect of its first attempt. Operations are told apart by the
 * `X-Amz-Target` header (`DynamoDB_20120810.UpdateItem`).
 */
export class AppliedThen500Proxy {
  readonly #target: URL;
  readonly #server: Server;
  readonly #pending = new Map<string, number>();
  /** Every request forwarded, by operation, in order; `!` marks one answered 500 after it applied. */
  readonly log: string[] = [];

  private constructor(target: string) {
    this.#target = new URL(target);
    this.#server = createServer((req, res) => void this.#forward(req, res));
  }

  static async start(target: string): Promise<AppliedThen500Proxy> {
    const proxy = new AppliedThen500Proxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get url(): string {
    const address = this.#server.address();
    if (!address || typeof address !== 'object') throw new Error('the proxy is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** The next `count` requests of `operation` (UpdateItem, PutItem, ...) apply, then answer 500. */
  failAfterApply(operation: string, count = 1): void {
    this.#pending.set(operation, (this.#pending.get(operation) ?? 0) + count);
  }

  /** How many requests of each operation were forwarded since the last reset. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const entry of this.log) {
      const operation = entry.replace(/!$/, '');
      counts[operation] = (counts[operation] ?? 0) + 1;
    }
    return counts;
  }

  reset(): void {
    this.log.length = 0;
    this.#pending.clear();
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readAll(req);
    const operation = String(req.headers['x-amz-target'] ?? 'unknown').replace(/^.*\./, '');
    const upstream = await send(this.#target, req, body);
    const left = this.#pending.get(operation) ?? 0;
    if (left > 0) {
      this.#pending.set(operation, left - 1);
      this.log.push(`${operation}!`);
      const error = JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
        message: 'applied, then answered 500 by the test proxy',
      });
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' }).end(error);
      return;
    }
    this.log.push(operation);
    res.writeHead(upstream.status, upstream.headers).end(upstream.body);
  }
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

function send(target: URL, req: IncomingMessage, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
    const out = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (answer) => {
        readAll(answer).then((data) => {
          const kept: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(answer.headers)) {
            if (value !== undefined && name !== 'transfer-encoding' && name !== 'connection')
              kept[name] = value;
          }
          kept['content-length'] = String(data.length);
          resolve({ status: answer.statusCode ?? 502, headers: kept, body: data });
        }, reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}
