import {
  Agent,
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A loopback HTTP/1.1 proxy in front of one emulator that decides per request (chaos/proxy.ts works
 * on bytes, this one on requests): both AWS protocols the worker speaks here are one JSON request
 * and one JSON answer, named by `X-Amz-Target` (`DynamoDB_20120810.PutItem`,
 * `AmazonSQS.DeleteMessageBatch`). The rule in force sees each request and says what to do:
 * - `pass`: forward it and relay the answer;
 * - `reply`: answer it without forwarding (a throttle, a 500 that did nothing);
 * - `applied-then-reply`: forward it, let the emulator apply it, drop the answer and reply instead
 *   (an applied write answered with an error);
 * - `applied-then-hang`: forward it and never answer (the client's request timeout fires; the
 *   write was applied);
 * - `rewrite`: forward another body, then turn the emulator's answer into another one (a batch
 *   whose chosen entries fail: they are not forwarded, and are added to the answer's `Failed`).
 */
export interface HttpRequest {
  readonly method: string;
  readonly target: string | undefined;
  readonly body: Buffer;
}

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

export type Decision =
  | { readonly kind: 'pass' }
  | ({ readonly kind: 'reply' } & Reply)
  | ({ readonly kind: 'applied-then-reply' } & Reply)
  | { readonly kind: 'applied-then-hang' }
  | {
      readonly kind: 'rewrite';
      readonly body: string;
      readonly answer: (status: number, body: Buffer) => Reply;
    };

export type Rule = (req: HttpRequest) => Decision;

export const PASS: Rule = () => ({ kind: 'pass' });

export interface HttpFaultProxy {
  readonly url: string;
  /** Requests seen per decision kind since the last `set`. */
  readonly counts: Record<string, number>;
  set(rule: Rule): void;
  close(): Promise<void>;
}

/** The hop-by-hop headers never relayed, and the framing ones recomputed. */
const DROP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection']);

function relayHeaders(
  headers: IncomingHttpHeaders,
  body: Buffer | string,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROP.has(name)) out[name] = value;
  }
  out['content-length'] = String(Buffer.byteLength(body));
  return out;
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

export async function startHttpProxy(targetPort: number): Promise<HttpFaultProxy> {
  let rule: Rule = PASS;
  let counts: Record<string, number> = {};
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const sockets = new Set<Socket>();

  /** Sends the request upstream; resolves with the emulator's answer. */
  const forward = (req: IncomingMessage, body: Buffer | string) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const up = request(
        {
          host: '127.0.0.1',
          port: targetPort,
          method: req.method,
          path: req.url,
          headers: relayHeaders(req.headers, body),
          agent,
        },
        (res) => {
          readBody(res).then(
            (b) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }),
            reject,
          );
        },
      );
      up.once('error', reject);
      up.end(body);
    });

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const target = req.headers['x-amz-target'];
      const decision = rule({
        method: req.method ?? 'GET',
        target: typeof target === 'string' ? target : undefined,
        body,
      });
      counts[decision.kind] = (counts[decision.kind] ?? 0) + 1;
      const send = (r: Reply) => {
        const payload = r.body;
        res.writeHead(r.status, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-requestid': `chaos-${Date.now()}`,
          ...r.headers,
          'content-length': String(Buffer.byteLength(payload)),
        });
        res.end(payload);
      };
      switch (decision.kind) {
        case 'reply':
          send(decision);
          return;
        case 'applied-then-reply':
          await forward(req, body);
          send(decision);
          return;
        case 'applied-then-hang':
          await forward(req, body);
          // No answer: the client gives up at its request timeout and closes the socket.
          return;
        case 'rewrite': {
          const up = await forward(req, decision.body);
          send(decision.answer(up.status, up.body));
          return;
        }
        default: {
          const up = await forward(req, body);
          res.writeHead(up.status, relayHeaders(up.headers, up.body));
          res.end(up.body);
        }
      }
    })().catch(() => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get counts() {
      return counts;
    },
    set(next) {
      rule = next;
      counts = {};
    },
    async close() {
      rule = PASS;
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
