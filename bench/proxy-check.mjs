// A self-check of the bench's counting proxy (bench/proxy.mjs and its bench/http-scanner.mjs):
//
//   npm run bench:check   (the build, then this file; .ci/run runs it before the quick bench)
//
// 1. The HTTP/1.1 scanner on request and answer streams cut at every byte and at random places:
//    the same messages, bodies and byte counts each time, and every byte seen exactly once.
// 2. The proxy against a scripted upstream on raw sockets: pipelined requests, answers by
//    Content-Length and chunked, sent in pieces; counts and body bytes exact; a request is counted
//    only once its answer has passed; resets on either side close the other and crash nothing;
//    the gate holds a query-protocol ReceiveMessage without forwarding a byte of it.
// 3. The proxy in front of the real emulators (fauxqs, dynalite) with the AWS SDK: counts per
//    operation, the gate, receive -> delete following, a failed batch entry not completed.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { EventEmitter, once } from 'node:events';
import { connect, createServer } from 'node:net';
import { clearTimeout, setImmediate, setTimeout } from 'node:timers';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { startEmulators } from '../dist/aws/embedded.js';
import { Scanner } from './http-scanner.mjs';
import { startCountingProxy } from './proxy.mjs';

const log = (line) => process.stdout.write(`proxy-check: ${line}\n`);

/** `promise`, or a failure naming `what` if it has not settled within `ms` (nothing hangs). */
function within(promise, what, ms = 10_000) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`proxy-check: no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// ---- 1. the scanner ------------------------------------------------------------------------

const REQUESTS = [
  'POST / HTTP/1.1\r\nHost: a\r\nx-AMZ-TARGET: DynamoDB_20120810.PutItem\r\nContent-Length: 5\r\n\r\nhello',
  'POST / HTTP/1.1\r\nX-Amz-Target: AmazonSQS.DeleteMessage\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n',
  'GET /x HTTP/1.1\r\nHost: a\r\n\r\n',
  '\r\nPOST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\ncontent-length: 29\r\n\r\n' +
    'Action=ReceiveMessage&Foo=bar',
].join('');
const REQUESTS_SEEN = [
  { start: 'POST / HTTP/1.1', target: 'DynamoDB_20120810.PutItem', body: 'hello' },
  { start: 'POST / HTTP/1.1', target: 'AmazonSQS.DeleteMessage', body: 'abcde' },
  { start: 'GET /x HTTP/1.1', target: undefined, body: '' },
  { start: 'POST / HTTP/1.1', target: undefined, body: 'Action=ReceiveMessage&Foo=bar' },
];
const ANSWERS = [
  'HTTP/1.1 100 Continue\r\n\r\n',
  'HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n',
  'HTTP/1.1 204 No Content\r\n\r\n',
  'HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nuntil the close',
].join('');
const ANSWERS_SEEN = [
  { start: 'HTTP/1.1 100 Continue', target: undefined, body: '' },
  { start: 'HTTP/1.1 200 OK', target: undefined, body: 'abc' },
  { start: 'HTTP/1.1 200 OK', target: undefined, body: 'wxyz' },
  { start: 'HTTP/1.1 204 No Content', target: undefined, body: '' },
  { start: 'HTTP/1.1 500 Oops', target: undefined, body: 'until the close' },
];

function scan(response, pieces) {
  const seen = [];
  const raw = [];
  let current;
  const scanner = new Scanner(response, {
    head(head, bytes) {
      raw.push(bytes);
      current = { start: head.start, target: head.target, body: '' };
      scanner.wantData = true;
      return response && /^HTTP\/1\.1 (1\d\d|204|304)/.test(head.start);
    },
    data: (slice) => (current.body += slice.toString('latin1')),
    raw: (slice) => raw.push(slice),
    end(n) {
      assert.equal(n, current.body.length);
      seen.push(current);
    },
    error: (message) => assert.fail(message),
  });
  for (const piece of pieces) scanner.feed(piece);
  scanner.close();
  return { seen, raw: Buffer.concat(raw).toString('latin1') };
}

function* cuts(text, seed) {
  const buf = Buffer.from(text, 'latin1');
  if (seed === 'whole') return yield buf;
  let x = seed;
  for (let at = 0; at < buf.length;) {
    x = (x * 1103515245 + 12345) % 2 ** 31; // a fixed LCG: the same cuts every run
    const n = seed === 1 ? 1 : 1 + (x % 23);
    yield buf.subarray(at, at + n);
    at += n;
  }
}

function checkScanner() {
  for (const seed of ['whole', 1, 7, 42, 1234, 99_999]) {
    const req = scan(false, cuts(REQUESTS, seed));
    assert.deepEqual(req.seen, REQUESTS_SEEN, `requests cut with ${seed}`);
    assert.equal(req.raw, REQUESTS, `request bytes cut with ${seed}`);
    const ans = scan(true, cuts(ANSWERS, seed));
    assert.deepEqual(ans.seen, ANSWERS_SEEN, `answers cut with ${seed}`);
    assert.equal(ans.raw, ANSWERS, `answer bytes cut with ${seed}`);
  }
  const errors = [];
  const bad = new Scanner(false, { head: () => false, end: () => {}, error: (m) => errors.push(m) });
  bad.feed(Buffer.from('POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n'));
  assert.deepEqual(errors, ['bad Content-Length']);
  log('scanner: requests and answers cut at every byte and at random places: ok');
}

// ---- 2. a scripted upstream ----------------------------------------------------------------

const request = (target, body, extra = '') =>
  `POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: ${target}\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/**
 * Answers each request once it has fully arrived, by its operation: `Chunked` in chunked framing,
 * written in pieces; `Reset` half a head, then a reset; anything else `{"ok":<body length>}`.
 */
async function scriptedUpstream() {
  const seen = { bytes: 0, closed: 0, requests: [] };
  const events = new EventEmitter();
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.on('close', () => {
      seen.closed += 1;
      events.emit('closed');
    });
    let target;
    const scanner = new Scanner(false, {
      head(head) {
        target = head.target ?? 'none';
        return false;
      },
      end(n) {
        seen.requests.push(target);
        if (target.endsWith('Chunked')) {
          socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: a/b\r');
          socket.write('\n\r\n5\r\nabcde\r\n');
          socket.write('3\r\nfgh\r\n0\r\n\r\n');
        } else if (target.endsWith('Head')) {
          socket.write('HTTP/1.1 200 HEAD-OK\r\nContent-Length: 10\r\n\r\n'); // no body: a HEAD
        } else if (target.endsWith('Reset')) {
          socket.write('HTTP/1.1 200 OK\r\nContent-');
          socket.resetAndDestroy();
        } else {
          const body = `{"ok":${n}}`;
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        }
      },
      error: (message) => assert.fail(message),
    });
    socket.on('data', (chunk) => {
      seen.bytes += chunk.length;
      scanner.feed(chunk);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: server.address().port, seen, events, close: () => server.close() };
}

/** A raw client connection; `answers(n)` resolves once n whole answers have arrived. */
async function rawClient(port, onAnswer = () => {}) {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const got = [];
  const waiters = [];
  let current;
  const scanner = new Scanner(true, {
    head(head) {
      current = { status: Number(head.start.slice(9, 12)), body: '' };
      scanner.wantData = true;
      return head.start.endsWith('HEAD-OK');
    },
    data: (slice) => (current.body += slice.toString('latin1')),
    end() {
      got.push(current);
      onAnswer(got.length);
      for (const w of waiters.splice(0)) w();
    },
    error: (message) => assert.fail(message),
  });
  socket.on('data', (chunk) => scanner.feed(chunk));
  const answers = async (n) => {
    while (got.length < n) {
      await within(new Promise((resolve) => waiters.push(resolve)), `answer ${got.length + 1}`);
    }
    return got;
  };
  return { socket, answers };
}

async function checkScripted() {
  const up = await scriptedUpstream();
  const proxy = await startCountingProxy(up.port);
  const total = () => Object.values(proxy.counts()).reduce((a, b) => a + b, 0);

  // Three requests in one write: answered in order, each counted before it reaches the client.
  const countedAtArrival = [];
  const a = await rawClient(proxy.port, () => countedAtArrival.push(total()));
  a.socket.write(
    request('X.PutItem', 'one') + request('X.Chunked', '') + request('X.PutItem', '{"k":12345}'),
  );
  const got = await a.answers(3);
  assert.deepEqual(
    got.map((g) => g.body),
    ['{"ok":3}', 'abcdefgh', '{"ok":11}'],
  );
  // Several answers may pass in one chunk: each is counted by the time its last byte arrives.
  assert.ok(
    countedAtArrival.every((n, i) => n >= i + 1),
    `counted at each answer's arrival: ${countedAtArrival.join(', ')}`,
  );
  assert.deepEqual(proxy.counts(), { PutItem: 2, Chunked: 1 });
  assert.deepEqual(proxy.bytes(), { request: 3 + 0 + 11, response: 8 + 8 + 9 });

  // One request a byte at a time (each write flushed before the next).
  const text = request('X.GetItem', '{"a":"b"}', 'x-amz-date: 1\r\n');
  for (const byte of Buffer.from(text)) {
    await new Promise((resolve) => a.socket.write(Buffer.of(byte), resolve));
  }
  await a.answers(4);
  assert.equal(proxy.counts().GetItem, 1);
  assert.equal(up.seen.requests.length, 4);

  // The answer to a HEAD has no body whatever its Content-Length says; the next one follows it.
  a.socket.write('HEAD / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: X.Head\r\n\r\n' + request('X.PutItem', 'zz'));
  assert.deepEqual(
    (await a.answers(6)).slice(4).map((g) => g.body),
    ['', '{"ok":2}'],
  );
  assert.deepEqual(proxy.counts(), { PutItem: 3, Chunked: 1, GetItem: 1, Head: 1 });
  assert.deepEqual(proxy.bytes(), { request: 3 + 0 + 11 + 9 + 0 + 2, response: 8 + 8 + 9 + 8 + 0 + 8 });

  // The emulator resets mid-answer: the client's connection closes, nothing is counted.
  const closedBefore = up.seen.closed;
  const b = await rawClient(proxy.port);
  b.socket.on('error', () => {});
  b.socket.write(request('X.Reset', 'x'));
  await once(b.socket, 'close');
  assert.equal(proxy.counts().Reset, undefined);

  // The client resets mid-request: the emulator's side closes too.
  const c = await rawClient(proxy.port);
  c.socket.write(request('X.PutItem', '0123456789').slice(0, 70));
  c.socket.resetAndDestroy();
  while (up.seen.closed < closedBefore + 2) await within(once(up.events, 'closed'), 'upstream close');
  assert.equal(proxy.counts().PutItem, 3);
  a.socket.destroy();
  await proxy.close();

  // SQS mode: a query-protocol ReceiveMessage is held, not one byte of it forwarded, until the
  // gate opens; then it is answered and counted by its Action.
  const sqs = await startCountingProxy(up.port, { sqs: true });
  sqs.closeGate();
  const d = await rawClient(sqs.port);
  const bytesBefore = up.seen.bytes;
  const form = 'Action=ReceiveMessage&QueueUrl=q';
  const held = once(sqs.events, 'held');
  d.socket.write(
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`,
  );
  await within(held, 'held receive');
  assert.equal(sqs.heldReceives(), 1);
  assert.equal(up.seen.bytes, bytesBefore);
  sqs.openGate();
  await d.answers(1);
  assert.deepEqual(sqs.counts(), { ReceiveMessage: 1 });
  d.socket.destroy();
  await sqs.close();
  await checkDelay(up);
  up.close();
  log('scripted upstream: pipelining, chunked answers, split requests, resets, the gate, the delay: ok');
}

/** Timers driven by hand: `advance(ms)` runs what has come due; 'set' is emitted per setTimeout. */
function manualTimers() {
  let now = 0;
  const due = new Set();
  const events = new EventEmitter();
  return {
    events,
    now: () => now,
    setTimeout(fn, ms) {
      const timer = { at: now + ms, fn };
      due.add(timer);
      events.emit('set');
      return timer;
    },
    clearTimeout: (timer) => due.delete(timer),
    advance(ms) {
      now += ms;
      for (const timer of [...due].filter((t) => t.at <= now)) {
        due.delete(timer);
        timer.fn();
      }
    },
  };
}

/**
 * The delay (latency-* workloads): an answer reaches the client, and is counted, only once its
 * delay has passed on the proxy's clock; two answers keep their order; setDelay(0) stops delaying.
 */
async function checkDelay(up) {
  const timers = manualTimers();
  const proxy = await startCountingProxy(up.port, { delayMs: 15, timers });
  let answered = 0;
  const client = await rawClient(proxy.port, (n) => (answered = n));
  const queued = once(timers.events, 'set');
  client.socket.write(request('X.PutItem', 'late') + request('X.GetItem', 'later'));
  await within(queued, 'a delayed answer');
  timers.advance(14);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(answered, 0, 'nothing delivered before the delay');
  assert.deepEqual(proxy.counts(), {}, 'nothing counted before the delay');
  // The second answer may reach the proxy after the first was delivered: its delay runs from then.
  for (let turn = 0; answered < 2 && turn < 1000; turn += 1) {
    timers.advance(1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const got = await client.answers(2);
  assert.deepEqual(
    got.map((g) => g.body),
    ['{"ok":4}', '{"ok":5}'],
  );
  assert.deepEqual(proxy.counts(), { PutItem: 1, GetItem: 1 });
  proxy.setDelay(0);
  client.socket.write(request('X.PutItem', 'now'));
  await client.answers(3);
  assert.deepEqual(proxy.counts(), { PutItem: 2, GetItem: 1 });
  client.socket.destroy();
  await proxy.close();
}

// ---- 3. the real emulators -----------------------------------------------------------------

async function checkEmulators() {
  const emulators = await startEmulators({ sqs: 0, dynamodb: 0 });
  const port = (url) => Number(new URL(url).port);
  const credentials = { accessKeyId: 'check', secretAccessKey: 'check' };
  const ddbProxy = await startCountingProxy(port(emulators.dynamodbEndpoint));
  const sqsProxy = await startCountingProxy(port(emulators.sqsEndpoint), { sqs: true });
  const region = 'us-east-1';
  const ddb = new DynamoDBClient({ region, endpoint: ddbProxy.url, credentials });
  const sqs = new SQSClient({ region, endpoint: sqsProxy.url, useQueueUrlAsEndpoint: false, credentials });
  const sqsDirect = new SQSClient({
    region,
    endpoint: emulators.sqsEndpoint,
    useQueueUrlAsEndpoint: false,
    credentials,
  });
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: 'check',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      }),
    );
    const put = (pk) =>
      ddb.send(
        new PutItemCommand({
          TableName: 'check',
          Item: { pk: { S: pk } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(`k${i}`)));
    await assert.rejects(put('k0'), { name: 'ConditionalCheckFailedException' });
    assert.deepEqual(ddbProxy.counts(), { CreateTable: 1, PutItem: 21 });
    assert.ok(ddbProxy.bytes().request > 21 * 40 && ddbProxy.bytes().response > 50);

    const { QueueUrl } = await sqsDirect.send(new CreateQueueCommand({ QueueName: 'q' }));
    const entries = Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `body ${i}` }));
    await sqsDirect.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
    sqsProxy.closeGate();
    const held = once(sqsProxy.events, 'held');
    const receiving = sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );
    await within(held, 'held receive');
    const attrs = await sqsDirect.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }),
    );
    assert.equal(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible, '0', 'the receive was held');
    assert.equal(sqsProxy.firstReceiveAt(), undefined);
    sqsProxy.openGate();
    const { Messages = [] } = await receiving;
    assert.ok(Messages.length >= 2, `received ${Messages.length}`);
    assert.ok(sqsProxy.firstReceiveAt() !== undefined);
    const [first, ...rest] = Messages;
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: first.ReceiptHandle }));
    assert.equal(sqsProxy.completedCount(), 1);
    const batch = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: [
          ...rest.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
          { Id: 'bogus', ReceiptHandle: 'not-a-receipt-handle' },
        ],
      }),
    );
    // fauxqs reports the unknown handle deleted too; the proxy never saw it received: not counted.
    assert.ok((batch.Successful?.length ?? 0) >= rest.length);
    assert.equal(sqsProxy.completedCount(), Messages.length);
    assert.equal(sqsProxy.latencies().length, Messages.length);
    assert.ok(sqsProxy.latencies().every((ms) => ms >= 0));
    assert.deepEqual(sqsProxy.counts(), { ReceiveMessage: 1, DeleteMessage: 1, DeleteMessageBatch: 1 });
    log(`emulators: DynamoDB counts, SQS gate and ${Messages.length} messages followed to delete: ok`);
  } finally {
    ddb.destroy();
    sqs.destroy();
    sqsDirect.destroy();
    await ddbProxy.close();
    await sqsProxy.close();
    await emulators.stop();
  }
}

checkScanner();
await checkScripted();
await checkEmulators();
log('all checks passed');
