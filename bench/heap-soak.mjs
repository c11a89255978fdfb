// Usage: node bench/heap-soak.mjs [--count 200000] [--every 20000] [--warmup 20000] [--snapshots 60000,200000] [--natural]
//        node bench/heap-soak.mjs --diff a.heapsnapshot b.heapsnapshot
//        (node_modules/.bin/node, Node 24; a 200,000-message run takes about 7 minutes here)
//
// Does the worker keep memory per message? RSS cannot say (allocator, code space, fragmentation),
// the live heap can: fauxqs and DynamoDB Local (dynalite without Java) run as processes of their
// own, the worker (createApp from dist/, the start command's configuration, a counting no-op
// handler, NODE_OPTIONS of npm start plus --expose-gc) runs in a child, and the queue is filled
// `every` messages at a time with unique keys. Once the worker has completed a step and is idle,
// the child runs full GCs and reports the heap in use, external memory and RSS by kind of mapping
// (--natural: no forced GC, RSS as the soak sees it). A flat line after the warm-up (beyond the
// 10,000-key completed cache) means no retention per message; the slope is printed in bytes per
// message. --snapshots writes heap snapshots at those counts (a snapshot's own buffers stay in
// RSS afterwards); --diff compares two by node type and constructor (count and self size), to name
// what grows. Needs `npm run build`.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startDynamo, startFauxqs, stopAll } from './env.mjs';
import { buildMessages, fill } from './workloads.mjs';

const { values: opts, positionals } = parseArgs({
  options: {
    count: { type: 'string', default: '200000' },
    every: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '20000' },
    snapshots: { type: 'string', default: '' },
    diff: { type: 'boolean', default: false },
    natural: { type: 'boolean', default: false },
    worker: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});

if (opts.worker) await runWorker();
else if (opts.diff) diff(positionals[0], positionals[1]);
else await main();

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'heap-soak-'));
  const log = (line) => console.error(`[heap-soak] ${line}`);
  try {
    const fauxqs = await startFauxqs();
    const dynamo = await startDynamo(join(tmp, 'dynamodb.log'), log);
    log(`fauxqs on ${fauxqs.port}, ${dynamo.name} on ${dynamo.port}; files in ${tmp}`);
    const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
    const region = 'us-east-1';
    const sqsEndpoint = `http://127.0.0.1:${fauxqs.port}`;
    const ddbEndpoint = `http://127.0.0.1:${dynamo.port}`;
    const sqs = new SQSClient({ region, endpoint: sqsEndpoint, useQueueUrlAsEndpoint: false, credentials });
    const ddb = new DynamoDBClient({ region, endpoint: ddbEndpoint, credentials });
    const id = randomUUID().slice(0, 6);
    const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `heap-${id}` }));
    const table = `heap-${id}`;
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const child = fork(import.meta.filename, ['--worker', ...(opts.natural ? ['--natural'] : [])], {
      execArgv: ['--max-semi-space-size=16', '--expose-gc'],
      env: {
        PATH: process.env.PATH ?? '',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_REGION: region,
        SQS_QUEUE_URL: queueUrl,
        AWS_ENDPOINT_URL_SQS: sqsEndpoint,
        AWS_ENDPOINT_URL_DYNAMODB: ddbEndpoint,
        IDEMPOTENCY_TABLE: table,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        HEAP_SOAK_DIR: tmp,
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const replies = [];
    let waiting;
    child.on('message', (m) => {
      replies.push(m);
      waiting?.();
    });
    const ask = async (request) => {
      child.send(request);
      while (replies.length === 0) await new Promise((r) => (waiting = r));
      return replies.shift();
    };
    await ask({ op: 'ready' });
    const count = Number(opts.count);
    const every = Number(opts.every);
    const warmup = Number(opts.warmup);
    const snapshots = new Set(opts.snapshots.split(',').filter(Boolean).map(Number));
    const messages = buildMessages('noop', count, `k-${id}`);
    const samples = [];
    const t0 = Date.now();
    for (let sent = 0; sent < count;) {
      const step = sent < warmup ? warmup : every;
      const next = messages.slice(sent, sent + step);
      for (let i = 0; i < next.length; i += 5000) {
        await fill(sqs, queueUrl, next.slice(i, i + 5000));
        // At most ~10k waiting in the queue, as in the soak run.
        await ask({ op: 'until', done: sent + i - 5000 });
      }
      sent += next.length;
      await ask({ op: 'until', done: sent });
      const s = await ask({ op: 'sample', snapshot: snapshots.has(sent) ? `at-${sent}` : undefined });
      samples.push({ messages: sent, seconds: Math.round((Date.now() - t0) / 1000), ...s });
      log(JSON.stringify(samples.at(-1)));
    }
    child.send({ op: 'stop' });
    await new Promise((r) => child.once('exit', r));
    report(samples, warmup);
  } finally {
    await stopAll();
  }
}

function report(samples, warmup) {
  const after = samples.filter((s) => s.messages >= warmup);
  const slope = (key) => {
    const n = after.length;
    if (n < 2) return NaN;
    const mx = after.reduce((a, s) => a + s.messages, 0) / n;
    const my = after.reduce((a, s) => a + s[key], 0) / n;
    const num = after.reduce((a, s) => a + (s.messages - mx) * (s[key] - my), 0);
    const den = after.reduce((a, s) => a + (s.messages - mx) ** 2, 0);
    return num / den;
  };
  const columns = [
    'heapUsed',
    'heapCommitted',
    'external',
    'rssBeforeGc',
    'rss',
    'rssV8Pages',
    'rssBrk',
    'rssAnon',
    'rssFile',
  ];
  console.log(['messages', 'seconds', ...columns.map((c) => `${c}_MB`)].join('  '));
  for (const s of samples)
    console.log(
      [s.messages, s.seconds, ...columns.map((c) => s[c])]
        .map((v, i) => (i < 2 ? String(v) : (v / 2 ** 20).toFixed(2)))
        .join('  '),
    );
  console.log(
    `after warm-up (least squares): ${columns.map((c) => `${c} ${slope(c).toFixed(1)}`).join(', ')} (B/msg)`,
  );
}

async function runWorker() {
  const v8 = await import('node:v8');
  const { loadConfig } = await import('../dist/config/load.js');
  const { createApp } = await import('../dist/app/app.js');
  let done = 0;
  const app = createApp(loadConfig(process.env), {
    handler: () => {
      done += 1;
      return undefined;
    },
  });
  await app.start();
  const fullGc = () => {
    for (let i = 0; i < 4; i += 1) globalThis.gc({ type: 'major', execution: 'sync' });
  };
  const untilDone = async (n) => {
    while (done < n) await new Promise((r) => setTimeout(r, 20));
  };
  process.on('message', async (m) => {
    if (m.op === 'ready') process.send({ done });
    else if (m.op === 'until') {
      await untilDone(m.done);
      process.send({ done });
    } else if (m.op === 'sample') {
      // Let the last deletes and completions settle (they follow the handler).
      await new Promise((r) => setTimeout(r, 500));
      const rssBeforeGc = process.memoryUsage().rss;
      if (!opts.natural) fullGc();
      const heap = v8.getHeapStatistics();
      const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s]));
      const mem = process.memoryUsage();
      const file = m.snapshot
        ? v8.writeHeapSnapshot(join(process.env.HEAP_SOAK_DIR, `${m.snapshot}.heapsnapshot`))
        : undefined;
      process.send({
        done,
        heapUsed: heap.used_heap_size,
        external: mem.external,
        arrayBuffers: mem.arrayBuffers,
        code: spaces.code_space.space_used_size,
        old: spaces.old_space.space_used_size,
        rss: mem.rss,
        rssBeforeGc,
        heapCommitted: heap.total_heap_size,
        malloced: heap.malloced_memory,
        ...residentByKind(),
        ...(file ? { snapshot: file } : {}),
      });
    } else if (m.op === 'stop') {
      await app.stop();
      process.exit(0);
    }
  });
}

/**
 * Where the resident set lives (/proc/self/smaps): the brk heap (glibc's main malloc arena), V8's
 * heap pages (anonymous read-write mappings of at most 256 KiB: V8 keeps a freed page resident, so
 * this is the heap's high-water mark, not what it uses), other anonymous mappings (other threads'
 * malloc arenas, JIT code, large objects, stacks) and files (the node binary, libraries), in bytes.
 */
function residentByKind() {
  const out = { rssBrk: 0, rssV8Pages: 0, rssAnon: 0, rssFile: 0 };
  let kind = 'rssAnon';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const [, from, to, perms, name] = head;
      const small = Number.parseInt(to, 16) - Number.parseInt(from, 16) <= 256 * 1024;
      kind =
        name === '[heap]'
          ? 'rssBrk'
          : name.startsWith('/')
            ? 'rssFile'
            : name === '' && perms === 'rw-p' && small
              ? 'rssV8Pages'
              : 'rssAnon';
    } else if (line.startsWith('Rss:')) out[kind] += Number(line.split(/\s+/)[1]) * 1024;
  }
  return out;
}

/** Object counts and self sizes by constructor name, b minus a, the 25 largest growths. */
function diff(a, b) {
  const count = (file) => {
    const snap = JSON.parse(readFileSync(file, 'utf8'));
    const fields = snap.snapshot.meta.node_fields;
    const types = snap.snapshot.meta.node_types[0];
    const stride = fields.length;
    const iType = fields.indexOf('type');
    const iName = fields.indexOf('name');
    const iSize = fields.indexOf('self_size');
    const byName = new Map();
    const nodes = snap.nodes;
    for (let i = 0; i < nodes.length; i += stride) {
      const key = `${types[nodes[i + iType]]}:${snap.strings[nodes[i + iName]].slice(0, 60)}`;
      const e = byName.get(key) ?? { n: 0, size: 0 };
      e.n += 1;
      e.size += nodes[i + iSize];
      byName.set(key, e);
    }
    return byName;
  };
  const x = count(a);
  const y = count(b);
  const rows = [];
  for (const [key, e] of y) {
    const before = x.get(key) ?? { n: 0, size: 0 };
    rows.push({ key, dn: e.n - before.n, dsize: e.size - before.size });
  }
  for (const [key, e] of x) if (!y.has(key)) rows.push({ key, dn: -e.n, dsize: -e.size });
  rows.sort((p, q) => q.dsize - p.dsize);
  for (const r of rows.slice(0, 25))
    console.log(`${String(r.dsize).padStart(10)} B  ${String(r.dn).padStart(8)}  ${r.key}`);
  const total = rows.reduce((t, r) => t + r.dsize, 0);
  console.log(`total self size change: ${total} B`);
}
