// A counting proxy on loopback in front of one emulator. It counts requests by operation (the
// X-Amz-Target header, else the Action form field of the query protocol) and the body bytes of
// each request and answer, at the moment each answer is passed back, and for SQS it follows every
// message from receive to delete:
// - ReceiveMessage answers map each ReceiptHandle to its MessageId and SentTimestamp;
// - DeleteMessage / DeleteMessageBatch answers mark those messages completed, at the time the
//   answer passes through (so "completed" means the same for every system: SQS confirmed the
//   delete);
// - a gate holds ReceiveMessage requests (not forwarded) until opened, so a system can start,
//   reach its first receive, and be measured from the moment the gate opens.
// Either proxy can add latency (setDelay): every byte of every answer reaches the client that many
// ms after the emulator sent it, so each request's round trip grows by the delay (the latency-*
// workloads: +5 ms per DynamoDB request, +15 ms per SQS request). Counting and following happen
// when the answer is delivered, as the client sees it.
//
// It works at the TCP level, because the bench process hosts both proxies on the same cores as
// the systems it measures: a full HTTP server plus an HTTP client per proxy cost about half a
// worker's CPU per message. Each client connection gets one connection to the emulator; bytes
// pass through as they come, in both directions, and a small incremental HTTP/1.1 scanner reads
// along: the end of each message's headers, the few headers it needs, the body by Content-Length
// or chunked framing. Answers pair with requests in order (HTTP/1.1 on one connection). Bodies are
// collected only where SQS following needs them (ReceiveMessage and DeleteMessageBatch answers,
// DeleteMessage(Batch) requests), and a request without X-Amz-Target whose body is a form (the
// query protocol) is collected to read its Action. The scanner is bench/http-scanner.mjs.
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { connect, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { URLSearchParams } from 'node:url';
import { Scanner } from './http-scanner.mjs';

const operationOf = (head) => (head.target ? head.target.slice(head.target.lastIndexOf('.') + 1) : undefined);

function parseJson(buffers) {
  try {
    return JSON.parse(Buffer.concat(buffers).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** SQS operations whose request body the follower reads, and those whose answer it reads. */
const FOLLOW_REQUEST = new Set(['DeleteMessage', 'DeleteMessageBatch']);
const FOLLOW_ANSWER = new Set(['ReceiveMessage', 'DeleteMessageBatch']);

const realTimers = { now: () => performance.now(), setTimeout, clearTimeout };

/**
 * Runs callbacks `delay()` ms after they were queued, in the order queued (one connection's
 * answer bytes). A delay of 0 with nothing queued runs at once. `cancel` drops what is queued.
 */
function delayLine(delay, timers) {
  const queue = [];
  let timer;
  const flush = () => {
    timer = undefined;
    const now = timers.now();
    while (queue.length > 0 && queue[0].at <= now) queue.shift().run();
    if (queue.length > 0) timer = timers.setTimeout(flush, queue[0].at - now);
  };
  return {
    after(run) {
      const ms = delay();
      if (ms <= 0 && queue.length === 0) return run();
      queue.push({ at: timers.now() + ms, run });
      timer ??= timers.setTimeout(flush, ms);
    },
    cancel() {
      queue.length = 0;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * @param {number} targetPort the emulator's port on 127.0.0.1
 * @param {{ sqs?: boolean, delayMs?: number, timers?: typeof realTimers }} options sqs: follow
 *   messages (receive -> delete); delayMs: latency added to every answer (setDelay changes it);
 *   timers: the clock and timers of the delay (a check drives them by hand)
 */
export async function startCountingProxy(targetPort, { sqs = false, delayMs = 0, timers = realTimers } = {}) {
  const events = new EventEmitter();
  let delay = delayMs;
  /** @type {Map<string, number>} */
  const counts = new Map();
  /** HTTP body bytes of every request answered, and of its answer (headers not counted). */
  const bytes = { request: 0, response: 0 };
  let gateOpen = true;
  /** Connections holding a ReceiveMessage back until the gate opens: their release functions. */
  const held = new Set();
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

  /** An answered request: counted, and for SQS followed (its bodies as lists of buffers). */
  const answered = (rec, status, resBody, resBytes) => {
    const op = rec.op ?? 'unknown';
    counts.set(op, (counts.get(op) ?? 0) + 1);
    bytes.request += rec.bytes;
    bytes.response += resBytes;
    if (!sqs || status !== 200) return;
    if (op === 'ReceiveMessage') noteReceive(parseJson(resBody));
    else if (op === 'DeleteMessage') {
      const handle = parseJson(rec.body)?.ReceiptHandle;
      if (handle) noteDeleted([handle]);
    } else if (op === 'DeleteMessageBatch') {
      const entries = parseJson(rec.body)?.Entries ?? [];
      const ok = new Set((parseJson(resBody)?.Successful ?? []).map((s) => s.Id));
      noteDeleted(entries.filter((e) => ok.has(e.Id)).map((e) => e.ReceiptHandle));
    }
  };

  const sockets = new Set();
  const track = (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true, noDelay: true });
    track(client);
    track(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    const line = delayLine(() => delay, timers);
    client.on('close', () => {
      line.cancel();
      upstream.destroy();
    });
    // After whatever the delay still holds for the client.
    upstream.on('close', () =>
      line.after(() => {
        if (!client.writableEnded) client.destroy();
      }),
    );

    /** Requests sent (or being sent, or held) and not yet answered, in order. */
    const pending = [];
    /** The request whose body is being read. */
    let current;
    let waitingDrain = false;
    let holding = false;
    /** Bytes held back while a ReceiveMessage waits for the gate (this and what follows it). */
    let heldBytes = [];
    /** A query-protocol request's bytes, until its body names the operation. */
    let deferred;
    let clientEnded = false;

    const resumeClient = () => {
      if (!waitingDrain && !holding) client.resume();
    };
    const send = (buf) => {
      if (deferred) deferred.push(buf);
      else if (holding) heldBytes.push(buf);
      else if (!upstream.write(buf) && !waitingDrain) {
        waitingDrain = true;
        client.pause();
      }
    };
    upstream.on('drain', () => {
      waitingDrain = false;
      resumeClient();
    });
    const endUpstream = () => {
      if (clientEnded && !holding && !deferred) upstream.end();
    };
    const release = () => {
      held.delete(release);
      holding = false;
      const bufs = heldBytes;
      heldBytes = [];
      if (upstream.destroyed) return;
      upstream.cork();
      for (const b of bufs) send(b);
      upstream.uncork();
      endUpstream();
      resumeClient();
    };
    /** SQS: where the gate acts, once the operation of the request being read is known. */
    const decide = (rec) => {
      if (rec.op === 'ReceiveMessage' && !gateOpen) {
        heldReceives += 1;
        events.emit('held', heldReceives);
        if (!holding) {
          holding = true;
          held.add(release);
          client.pause();
        }
      }
      if (deferred) {
        const bufs = deferred;
        deferred = undefined;
        for (const b of bufs) send(b);
        endUpstream();
      }
    };

    const requests = new Scanner(false, {
      head(head, raw) {
        const op = operationOf(head);
        current = { op, bytes: 0, body: undefined, head: head.start.startsWith('HEAD ') };
        // The query protocol names the operation in the body: collect it (and, for SQS, hold
        // the request's bytes until the gate can decide on it).
        const byForm = op === undefined && head.form;
        if (byForm || (sqs && FOLLOW_REQUEST.has(op))) {
          current.body = [];
          requests.wantData = true;
        }
        pending.push(current);
        if (sqs) {
          if (byForm) deferred = [];
          else decide(current);
          send(raw);
        }
        return false;
      },
      data(slice) {
        current.body.push(slice);
      },
      raw: sqs ? (slice) => send(slice) : undefined,
      end(n) {
        const rec = current;
        current = undefined;
        rec.bytes = n;
        if (rec.op === undefined && rec.body) {
          rec.op = new URLSearchParams(Buffer.concat(rec.body).toString('utf8')).get('Action') ?? 'unknown';
          if (sqs) decide(rec);
        }
      },
      error: drop,
    });

    let answer;
    const answers = new Scanner(true, {
      head(head) {
        const status = Number(head.start.slice(9, 12));
        // 1xx: an interim answer (100 Continue); the request's real answer follows.
        answer = { status, interim: status >= 100 && status < 200, body: undefined };
        const rec = pending[0];
        if (sqs && status === 200 && rec && FOLLOW_ANSWER.has(rec.op)) {
          answer.body = [];
          answers.wantData = true;
        }
        return answer.interim || status === 204 || status === 304 || rec?.head === true;
      },
      data(slice) {
        answer.body.push(slice);
      },
      end(n) {
        const a = answer;
        answer = undefined;
        if (a.interim) return;
        const rec = pending.shift();
        if (rec) answered(rec, a.status, a.body, n);
      },
      error: drop,
    });

    client.on('data', (chunk) => {
      if (sqs) {
        upstream.cork();
        requests.feed(chunk);
        upstream.uncork();
      } else {
        send(chunk);
        requests.feed(chunk);
      }
    });
    client.on('end', () => {
      clientEnded = true;
      endUpstream();
    });
    upstream.on('data', (chunk) =>
      line.after(() => {
        if (client.destroyed) return;
        answers.feed(chunk);
        if (!client.write(chunk)) upstream.pause();
      }),
    );
    client.on('drain', () => upstream.resume());
    upstream.on('end', () =>
      line.after(() => {
        answers.close();
        client.end();
      }),
    );
  });
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
    /** Latency added to every answer from now on, ms (0: none). */
    setDelay(ms) {
      delay = ms;
    },
    openGate() {
      gateOpen = true;
      for (const release of [...held]) release();
    },
    completedCount: () => completed.size,
    latencies: () => latencies.slice(),
    firstReceiveAt: () => firstReceiveAt,
    lastCompletedAt: () => lastCompletedAt,
    async close() {
      gateOpen = true;
      held.clear();
      const closed = new Promise((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
