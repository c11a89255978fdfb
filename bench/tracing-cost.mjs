// What tracing costs per message: CPU time of the whole runtime (poll, claim, handler, settle) on
// the in-memory queue and store, for the same messages with tracing off and on, on the built code
// (run `npm run build` first).
//
//   node_modules/.bin/node bench/tracing-cost.mjs [messages] [baseline-dist]
//
// The code measured is ./dist of the working folder: run it from a clean build (git archive of a
// commit, `tsc -p tsconfig.build.json`) to measure exactly that commit.
//
// Cases, interleaved over 7 rounds in rotating order after a warm-up round (minimum and median CPU
// microseconds per message):
//   - off: no OTEL_* variables (core/tracing.ts's noTracing);
//   - on, always_off sampler: the spans are made but not recorded or exported;
//   - on, exported: every span recorded and exported over OTLP/HTTP to a receiver in a child
//     process (its CPU is not counted; the exporter's serialising and sending is);
//   - baseline (optional): the same runtime from another build's dist/, e.g. one of the commit
//     before tracing existed, to show that "off" costs what the code cost before.
// Each message carries a W3C traceparent, as /seed sends it. CPU time, not wall time: on a shared
// machine, time spent descheduled is not the message's cost.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const messages = Number(process.argv[2] ?? 3000);
const baselineDist = process.argv[3];
const ROUNDS = 7;
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** The first of these modules a dist/ folder has (files moved between builds), or undefined. */
async function firstOf(dist, ...paths) {
  const file = paths.map((path) => resolve(dist, path)).find((path) => existsSync(path));
  return file === undefined ? undefined : import(pathToFileURL(file).href);
}

/** The modules of a dist/ folder that make a runtime on the in-memory twins. */
async function modulesOf(dist) {
  return {
    memoryQueue: await firstOf(dist, 'testing/memory-queue.js', 'core/memory-queue.js'),
    memoryStore: await firstOf(dist, 'testing/memory-store.js', 'core/memory-store.js'),
    idempotency: await firstOf(dist, 'core/idempotency.js'),
    // Builds before the tests' QueuePoller moved to test/helpers/ (not built) have their own.
    poller: await firstOf(dist, 'worker/poller.js'),
    runtime: await firstOf(dist, 'worker/runtime.js'),
    logger: await firstOf(dist, 'core/logger.js'),
  };
}

/**
 * The runtime's MessageSource (core/message-source.ts) for this bench: the queue is filled before
 * the start, so one loop that waits for room, receives what it reserved and hands it over is all
 * it needs (no gate, no failures, no long polls to abort).
 */
function drainSource(queue) {
  const abort = new AbortController();
  let loop;
  const run = async (sink) => {
    while (!abort.signal.aborted) {
      if ((await sink.capacity.waitForRoom()) <= 0) return;
      const reserved = await sink.capacity.reserve(10);
      if (reserved <= 0) return;
      const messages = await queue.receive({
        maxMessages: reserved,
        waitTimeSeconds: 0,
        visibilityTimeoutSeconds: 30,
      });
      sink.succeeded();
      // One synchronous step, as the runtime's pollers do: the reservation goes back as they go in.
      sink.capacity.unreserve(reserved);
      if (messages.length > 0) sink.received(messages);
      else sink.empty();
    }
  };
  return {
    quietUntil: 0,
    start(sink) {
      loop ??= run(sink);
    },
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

/** A receiver in its own process that answers every export with 200 and keeps nothing. */
async function startReceiver() {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.end('{}')); });
       s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [chunk] = await once(child.stdout, 'data');
  return { url: `http://127.0.0.1:${String(chunk).trim()}`, stop: () => child.kill() };
}

/** CPU microseconds per message for one run of `messages` messages through a fresh runtime. */
async function run(m, tracing) {
  const clock = { now: () => Date.now(), monotonic: () => performance.now() };
  const queues = new m.memoryQueue.MemoryQueues({ clock });
  const queue = queues.create('bench', { visibilityTimeoutSeconds: 30 });
  for (let i = 0; i < messages; i += 1) {
    await queue.send({
      body: JSON.stringify({ seq: i, total: 99.5 }),
      attributes: {
        IdempotencyKey: { dataType: 'String', stringValue: `k-${i}` },
        traceparent: { dataType: 'String', stringValue: TRACEPARENT },
      },
    });
  }
  const idempotency = new m.idempotency.IdempotencyService({
    store: new m.memoryStore.MemoryIdempotencyStore(),
    clock,
    namespace: 'bench',
    instanceId: 'bench',
    leaseMs: 30_000,
    retentionSeconds: 3600,
    cacheSize: 0,
  });
  const runtime = new m.runtime.WorkerRuntime({
    queue,
    deadLetters: undefined,
    source: m.poller
      ? new m.poller.QueuePoller(queue, {
          batchSize: 10,
          waitTimeSeconds: 0,
          visibilityTimeoutSeconds: 30,
          clock,
          failureBackoff: { baseMs: 1000, maxMs: 1000 },
        })
      : drainSource(queue),
    idempotency,
    handler: async () => ({ ok: true }),
    logger: m.logger.silentLogger,
    clock,
    keyAttribute: 'IdempotencyKey',
    visibilityTimeoutSeconds: 30,
    skewMs: 1000,
    maxInFlight: 50,
    handlerTimeoutMs: 0,
    backoff: { baseMs: 1000, maxMs: 60_000 },
    ...(tracing ? { tracing } : {}),
  });
  let settled = 0;
  const done = new Promise((resolveDone) =>
    runtime.on('message_settled', () => {
      settled += 1;
      if (settled === messages) resolveDone();
    }),
  );
  const start = process.cpuUsage();
  await runtime.start();
  await done;
  const used = process.cpuUsage(start);
  await runtime.stop(1000);
  return (used.user + used.system) / messages;
}

const summary = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { minUs: +sorted[0].toFixed(1), medianUs: +sorted[Math.floor(sorted.length / 2)].toFixed(1) };
};

const current = await modulesOf('dist');
const baseline = baselineDist ? await modulesOf(baselineDist) : undefined;
const { createOtelTracing } = await import(pathToFileURL(resolve('dist/observability/otel.js')).href);
const { loadConfig } = await import(pathToFileURL(resolve('dist/config/load.js')).href);
const receiver = await startReceiver();

/** A Tracing per the OTEL_* variables, as the app makes it; shut down after its run. */
function otel(env) {
  const settings = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env }).tracing;
  return createOtelTracing(settings, { url: `${receiver.url}/v1/traces`, serviceVersion: 'bench' });
}

const cases = [
  ...(baseline ? [['baseline (other dist/, no tracing code)', () => run(baseline, undefined)]] : []),
  ['off (no OTEL_* variables)', () => run(current, undefined)],
  [
    'on, OTEL_TRACES_SAMPLER=always_off',
    async () => {
      const tracing = otel({ OTEL_TRACES_SAMPLER: 'always_off' });
      const us = await run(current, tracing);
      await tracing.shutdown(5000);
      return us;
    },
  ],
  [
    'on, every span exported over OTLP/HTTP',
    async () => {
      // Export while the messages run, as in production (not all at the shutdown's flush).
      const tracing = otel({ OTEL_BSP_SCHEDULE_DELAY: '200' });
      const us = await run(current, tracing);
      const start = process.cpuUsage();
      await tracing.shutdown(10_000);
      const flush = process.cpuUsage(start);
      return us + (flush.user + flush.system) / messages;
    },
  ],
];

const results = new Map(cases.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS + 1; round += 1) {
  // Each round starts with another case, so no case always runs right after the same one.
  const order = cases.map((_, i) => cases[(i + round) % cases.length]);
  for (const [name, once] of order) {
    const us = await once();
    if (round > 0) results.get(name).push(us); // round 0 warms the JIT
  }
}
receiver.stop();
const off = summary(results.get('off (no OTEL_* variables)'));
for (const [name, values] of results) {
  const s = summary(values);
  console.log(
    JSON.stringify({
      case: name,
      messages,
      rounds: ROUNDS,
      ...s,
      medianVsOffUs: +(s.medianUs - off.medianUs).toFixed(1),
    }),
  );
}
