import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';

/**
 * An HTTP proxy on a loopback port in front of an AWS emulator that adds a fixed delay to every
 * request (the round trip of a distant region) and counts the requests it has under way, by the
 * operation named in `X-Amz-Target` (SQS's and DynamoDB's JSON protocols: `AmazonSQS.ReceiveMessage`
 * counts as `ReceiveMessage`). Tests assert on these counts, never on elapsed time.
 */
export class LatencyProxy {
  readonly #target: URL;
  readonly #delayMs: number;
  readonly #server: Server;
  readonly #underWay = new Map<string, number>();
  readonly #peak = new Map<string, number>();
  readonly #total = new Map<string, number>();
  #port = 0;

  private constructor(target: string, delayMs: number) {
    this.#target = new URL(target);
    this.#delayMs = delayMs;
    this.#server = createServer((req, res) => {
      const operation = operationOf(req);
      this.#begin(operation);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        this.#underWay.set(operation, (this.#underWay.get(operation) ?? 1) - 1);
      };
      res.on('close', end);
      const timer = setTimeout(() => {
        const upstream = httpRequest(
          {
            host: this.#target.hostname,
            port: this.#target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        res.on('close', () => upstream.destroy());
        req.pipe(upstream);
      }, this.#delayMs);
      res.on('close', () => clearTimeout(timer));
    });
  }

  /** Starts a proxy to `targetUrl` (http://host:port) on a free loopback port. */
  static async start(targetUrl: string, delayMs: number): Promise<LatencyProxy> {
    const proxy = new LatencyProxy(targetUrl, delayMs);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = proxy.#server.address();
    if (address && typeof address === 'object') proxy.#port = address.port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Requests of `operation` under way now (received, not yet answered or abandoned). */
  underWay(operation: string): number {
    return this.#underWay.get(operation) ?? 0;
  }

  /** The most requests of `operation` that were under way at once. */
  peak(operation: string): number {
    return this.#peak.get(operation) ?? 0;
  }

  /** Requests of `operation` seen so far. */
  total(operation: string): number {
    return this.#total.get(operation) ?? 0;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #begin(operation: string): void {
    const now = (this.#underWay.get(operation) ?? 0) + 1;
    this.#underWay.set(operation, now);
    this.#peak.set(operation, Math.max(now, this.#peak.get(operation) ?? 0));
    this.#total.set(operation, (this.#total.get(operation) ?? 0) + 1);
  }
}

function operationOf(req: IncomingMessage): string {
  const target = req.headers['x-amz-target'];
  const name = Array.isArray(target) ? target[0] : target;
  return name?.split('.').pop() ?? 'unknown';
}
