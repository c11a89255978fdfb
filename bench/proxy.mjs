// A counting HTTP proxy on loopback in front of one emulator. It counts requests by operation
// (the X-Amz-Target header, else the Action form field of the query protocol) and the body bytes
// of each request and answer, at the moment each answer is passed back, and for SQS it follows
// every message from receive to delete:
// - ReceiveMessage answers map each ReceiptHandle to its MessageId and SentTimestamp;
// - DeleteMessage / DeleteMessageBatch answers mark those messages completed, at the time the
//   answer passes through (so "completed" means the same for every system: SQS confirmed the
//   delete);
// - a gate holds ReceiveMessage requests (not forwarded) until opened, so a system can start,
//   reach its first receive, and be measured from the moment the gate opens.
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import { URLSearchParams } from 'node:url';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

function operationOf(headers, body) {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.lastIndexOf('.') + 1);
  const type = String(headers['content-type'] ?? '');
  if (type.includes('x-www-form-urlencoded')) {
    return new URLSearchParams(body.toString('utf8')).get('Action') ?? 'unknown';
  }
  return 'unknown';
}

function parseJson(buffer) {
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * @param {number} targetPort the emulator's port on 127.0.0.1
 * @param {{ sqs?: boolean }} options sqs: follow messages (receive -> delete)
 */
export async function startCountingProxy(targetPort, { sqs = false } = {}) {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const events = new EventEmitter();
  /** @type {Map<string, number>} */
  const counts = new Map();
  /** HTTP body bytes of every request answered, and of its answer (headers not counted). */
  const bytes = { request: 0, response: 0 };
  let gateOpen = true;
  /** @type {(() => void)[]} */
  const held = [];
  let heldReceives = 0;
  /** receipt handle -> { id, sent } */
  const receipts = new Map();
  /** message id -> completion time (ms) */
  const completed = new Map();
  /** completion time - SentTimestamp, per completed message */
  const latencies = [];
  let firstReceiveAt;
  let lastCompletedAt;

  const noteReceive = (json) => {
    firstReceiveAt ??= Date.now();
    for (const m of json?.Messages ?? []) {
      const sent = Number(m.Attributes?.SentTimestamp);
      receipts.set(m.ReceiptHandle, { id: m.MessageId, sent: Number.isFinite(sent) ? sent : undefined });
    }
  };

  const noteDeleted = (handles) => {
    const now = Date.now();
    let fresh = 0;
    for (const handle of handles) {
      const r = receipts.get(handle);
      receipts.delete(handle);
      if (!r || completed.has(r.id)) continue;
      completed.set(r.id, now);
      if (r.sent !== undefined) latencies.push(now - r.sent);
      fresh += 1;
    }
    if (fresh > 0) {
      lastCompletedAt = now;
      events.emit('completed', completed.size);
    }
  };

  const follow = (op, reqBody, resBody, status) => {
    if (status !== 200) return;
    if (op === 'ReceiveMessage') noteReceive(parseJson(resBody));
    else if (op === 'DeleteMessage') {
      const handle = parseJson(reqBody)?.ReceiptHandle;
      if (handle) noteDeleted([handle]);
    } else if (op === 'DeleteMessageBatch') {
      const entries = parseJson(reqBody)?.Entries ?? [];
      const ok = new Set((parseJson(resBody)?.Successful ?? []).map((s) => s.Id));
      noteDeleted(entries.filter((e) => ok.has(e.Id)).map((e) => e.ReceiptHandle));
    }
  };

  const forward = (req, res, body, op) => {
    const headers = { ...req.headers };
    delete headers.connection;
    const upstream = request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers, agent },
      (up) => {
        const chunks = [];
        up.on('data', (c) => chunks.push(c));
        up.on('end', () => {
          const resBody = Buffer.concat(chunks);
          counts.set(op, (counts.get(op) ?? 0) + 1);
          bytes.request += body.length;
          bytes.response += resBody.length;
          if (sqs) follow(op, body, resBody, up.statusCode);
          const out = {};
          for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
          out['content-length'] = resBody.length;
          res.writeHead(up.statusCode ?? 502, out);
          res.end(resBody);
        });
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  };

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const op = operationOf(req.headers, body);
      if (sqs && op === 'ReceiveMessage' && !gateOpen) {
        heldReceives += 1;
        events.emit('held', heldReceives);
        held.push(() => forward(req, res, body, op));
        return;
      }
      forward(req, res, body, op);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.requestTimeout = 0;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    events,
    /** Counts per operation so far (a copy). */
    counts: () => Object.fromEntries(counts),
    /** Body bytes so far, requests and answers (a copy), counted with `counts`. */
    bytes: () => ({ ...bytes }),
    /** Holds ReceiveMessage requests until open(); clears what was followed so far. */
    closeGate() {
      gateOpen = false;
      heldReceives = 0;
      receipts.clear();
      completed.clear();
      latencies.length = 0;
      firstReceiveAt = undefined;
      lastCompletedAt = undefined;
    },
    heldReceives: () => heldReceives,
    openGate() {
      gateOpen = true;
      for (const release of held.splice(0)) release();
    },
    completedCount: () => completed.size,
    latencies: () => latencies.slice(),
    firstReceiveAt: () => firstReceiveAt,
    lastCompletedAt: () => lastCompletedAt,
    async close() {
      gateOpen = true;
      held.length = 0;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
