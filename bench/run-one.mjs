// One measured run: a fresh queue (and table), the system started as its own process with its
// receives held at the proxy, the queue filled, the gate opened, and the system measured from
// outside until SQS has confirmed the delete of every message sent.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTableCommand, DeleteTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { ROOT, cpuMicros, memoryMb, spawnLogged, stop, until } from './env.mjs';
import { WORKLOADS, buildMessages, fill } from './workloads.mjs';
import { costFields, readCosts } from './emulator-cost.mjs';
import { nodeOptionsFor } from './flags.mjs';

/**
 * ours-single: the worker with STORE_BATCHING=off (two single calls per message); ours-batched:
 * the worker at its defaults (STORE_BATCHING=auto: batched first claims and completes where the
 * table takes them). A build without STORE_BATCHING has single calls only: ours-single then runs
 * at its defaults and ours-batched is left out (bench/run.mjs).
 */
export const SYSTEMS = ['baseline', 'floor', 'peer', 'ours-single', 'ours-batched'];
export const OURS = new Set(['ours-single', 'ours-batched']);
/** Systems that promise one run per key; the others may run a re-sent key once per send. */
export const IDEMPOTENT = new Set(['peer', ...OURS]);
/** sqs-consumer instances of the other systems, each with batches of 10: 50 in flight. */
export const INSTANCES = 5;

/** Consumers of the sqs-consumer systems on a workload: its concurrency / 10, else INSTANCES. */
export const instancesFor = (w) => (w.concurrency ? Math.max(1, Math.round(w.concurrency / 10)) : INSTANCES);

/**
 * Context shared by every run: emulators, proxies, admin clients, temp dir, logger, flags.
 * flagSet: 'defaults' or 'shared' (bench/flags.mjs), the same for every system of a pass.
 */
export async function runOne(ctx, system, workload, count, label, flagSet = 'defaults') {
  const w = WORKLOADS[workload];
  const id = `${system}-${workload}-${flagSet}-${label}-${randomUUID().slice(0, 6)}`;
  const { QueueUrl: queueUrl } = await ctx.sqs.send(
    new CreateQueueCommand({
      QueueName: `bench-${id}${w.fifo ? '.fifo' : ''}`,
      Attributes: {
        VisibilityTimeout: '30',
        ...(w.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {}),
      },
    }),
  );
  const table = system === 'baseline' ? undefined : `bench-${id}`;
  if (table) await createTable(ctx, table, system === 'peer' ? 'id' : 'pk', OURS.has(system));
  const messages = buildMessages(workload, count, `k-${id}`);
  const handlerLog = join(ctx.tmp, `${id}.keys`);
  const logFile = join(ctx.tmp, `${id}.log`);
  const handlerEnv = { BENCH_HANDLER_LOG: handlerLog, BENCH_HANDLER_MS: String(w.handlerMs) };

  ctx.sqsProxy.closeGate();
  ctx.sqsProxy.setDelay(w.sqsDelayMs ?? 0);
  ctx.ddbProxy.setDelay(w.ddbDelayMs ?? 0);
  const child = spawnSystem(ctx, system, {
    name: id,
    queueUrl,
    table,
    fifo: w.fifo,
    handlerEnv,
    logFile,
    flagSet,
    concurrency: w.concurrency,
  });
  try {
    const pollers = OURS.has(system) ? 1 : instancesFor(w);
    await until(`${system} to start polling`, 60_000, async () => {
      if (!child.alive()) throw new Error(`${system} exited: ${tail(logFile)}`);
      return ctx.sqsProxy.heldReceives() >= pollers ? true : undefined;
    });
    await fill(ctx.sqsDirect, queueUrl, messages);

    const cpu0 = cpuMicros(child.pid);
    const costs0 = readCosts(ctx);
    const sqs0 = ctx.sqsProxy.counts();
    const ddb0 = ctx.ddbProxy.counts();
    const opened = Date.now();
    ctx.sqsProxy.openGate();
    await waitCompleted(ctx, child, messages.length, system, logFile);
    const cpu1 = cpuMicros(child.pid);
    const costs1 = readCosts(ctx);
    const mem = memoryMb(child.pid);
    const sqs1 = ctx.sqsProxy.counts();
    const ddb1 = ctx.ddbProxy.counts();
    const first = ctx.sqsProxy.firstReceiveAt() ?? opened;
    const last = ctx.sqsProxy.lastCompletedAt() ?? Date.now();
    const latencies = ctx.sqsProxy.latencies().sort((a, b) => a - b);
    await stop(child);

    const runs = runsPerKey(handlerLog);
    const check = checkRuns(system, messages, runs);
    const n = messages.length;
    return {
      workload,
      system,
      flags: flagSet,
      messages: n,
      ok: check.ok,
      problem: check.problem,
      // From the first receive answered to the last delete confirmed: the cell's measured time.
      duration_s: Math.max(1, last - first) / 1000,
      ...(OURS.has(system) ? { store_writes: storeWrites(logFile) } : {}),
      throughput_msgs_per_s: n / (Math.max(1, last - first) / 1000),
      cpu_us_per_msg: (cpu1 - cpu0) / n,
      p50_ms: quantile(latencies, 0.5),
      p99_ms: quantile(latencies, 0.99),
      peak_rss_mb: mem.hwm,
      ddb_requests_per_msg: total(diff(ddb1, ddb0)) / n,
      sqs_requests_per_msg: total(diff(sqs1, sqs0)) / n,
      handler_runs_per_key_max: check.max,
      ddb_ops: diff(ddb1, ddb0),
      sqs_ops: diff(sqs1, sqs0),
      unique_keys: new Set(messages.map((m) => m.key)).size,
      // Optional fields: what the emulators and the proxies spent on this run (bench/emulator-cost.mjs).
      ...costFields(costs0, costs1, n, cpu1 - cpu0),
    };
  } finally {
    await stop(child);
    ctx.sqsProxy.setDelay(0);
    ctx.ddbProxy.setDelay(0);
    await ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
    if (table) await ctx.ddb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  }
}

/**
 * What ours' log says its store writes are: 'batched' or 'single' (the start's choice, logged by
 * a build with STORE_BATCHING), else undefined.
 */
export function storeWrites(logFile) {
  try {
    return /idempotency store: (batched|single) writes/.exec(readFileSync(logFile, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Starts a system as its own process: ours as `npm start` starts it (package.json's start script),
 * with defaults but for ours-single's STORE_BATCHING=off and a workload's MAX_IN_FLIGHT.
 */
export function spawnSystem(ctx, system, options) {
  const { name, queueUrl, table, fifo, handlerEnv, logFile, flagSet = 'defaults', concurrency } = options;
  const flags = nodeOptionsFor({ ours: OURS.has(system), flagSet, ...ctx.flags });
  if (OURS.has(system)) {
    // Started as `npm start` starts the product: package.json's start script, run by sh in the
    // repo root (its `exec` leaves node with this pid), this Node first on PATH. The script puts
    // its V8 flags first in NODE_OPTIONS; the pass's flags (on defaults: each of the script's
    // flags at V8's default), --cpu-prof and --node-options come after them and win, as a user's
    // own NODE_OPTIONS does.
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const quoted = profileArgs(ctx, name).map((arg) => (/\s/.test(arg) ? JSON.stringify(arg) : arg));
    const extra = [...flags, ...quoted, ctx.nodeOptions ?? ''].join(' ').trim();
    const single = system === 'ours-single' && ctx.workerVariables?.has('STORE_BATCHING');
    return spawnLogged(
      '/bin/sh',
      ['-c', scripts.start],
      {
        PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}`,
        ...(extra ? { NODE_OPTIONS: extra } : {}),
        ...(single ? { STORE_BATCHING: 'off' } : {}),
        ...(concurrency ? { MAX_IN_FLIGHT: String(concurrency) } : {}),
        SQS_QUEUE_URL: queueUrl,
        AWS_ENDPOINT_URL_SQS: ctx.sqsProxy.url,
        AWS_ENDPOINT_URL_DYNAMODB: ctx.ddbProxy.url,
        IDEMPOTENCY_TABLE: table,
        HANDLER: join(ROOT, 'bench', 'handler.mjs'),
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        ...handlerEnv,
      },
      logFile,
    );
  }
  return spawnLogged(
    process.execPath,
    [...profileArgs(ctx, name), join(ROOT, 'bench', 'system.mjs')],
    {
      BENCH_SYSTEM: system,
      BENCH_QUEUE_URL: queueUrl,
      BENCH_SQS_ENDPOINT: ctx.sqsProxy.url,
      BENCH_DDB_ENDPOINT: ctx.ddbProxy.url,
      BENCH_TABLE: table ?? '',
      BENCH_FIFO: fifo ? '1' : '',
      BENCH_INSTANCES: String(instancesFor({ concurrency })),
      ...nodeOptions(ctx, flags),
      ...handlerEnv,
    },
    logFile,
  );
}

/** The pass's flags, then --node-options (V8 flags to try, the same for all): NODE_OPTIONS. */
function nodeOptions(ctx, flags) {
  const all = [...flags, ctx.nodeOptions ?? ''].join(' ').trim();
  return all ? { NODE_OPTIONS: all } : {};
}

/** --cpu-prof DIR: the system runs under node --cpu-prof, its profile named after the run. */
function profileArgs(ctx, name) {
  if (!ctx.cpuProfDir) return [];
  return ['--cpu-prof', '--cpu-prof-dir', ctx.cpuProfDir, '--cpu-prof-name', `${name}.cpuprofile`];
}

export async function createTable(ctx, name, key, ttl) {
  await ctx.ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  if (ttl) {
    await ctx.ddb
      .send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        }),
      )
      .catch(() => undefined); // dynalite has no TTL; the worker tolerates that
  }
}

export function waitCompleted(ctx, child, expected, system, logFile) {
  return new Promise((resolve, reject) => {
    const events = ctx.sqsProxy.events;
    const done = () => {
      clearTimeout(timer);
      events.off('completed', onCompleted);
    };
    const onCompleted = (n) => {
      if (n >= expected) {
        done();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(
        new Error(
          `${system}: ${ctx.sqsProxy.completedCount()}/${expected} messages completed within ${ctx.runTimeoutMs} ms`,
        ),
      );
    }, ctx.runTimeoutMs);
    child.exited.then(() => {
      if (ctx.sqsProxy.completedCount() < expected) {
        done();
        reject(new Error(`${system} exited before completing: ${tail(logFile)}`));
      }
    });
    events.on('completed', onCompleted);
    onCompleted(ctx.sqsProxy.completedCount());
  });
}

export function runsPerKey(file) {
  const runs = new Map();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // no handler run at all
  }
  for (const key of text.split('\n')) if (key) runs.set(key, (runs.get(key) ?? 0) + 1);
  return runs;
}

/**
 * Idempotent systems: every key ran exactly once. The others: every key ran at least once and
 * at most once per send of it (no redelivery ran the handler again).
 */
export function checkRuns(system, messages, runs) {
  const sends = new Map();
  for (const m of messages) sends.set(m.key, (sends.get(m.key) ?? 0) + 1);
  let max = 0;
  for (const [key, sent] of sends) {
    const r = runs.get(key) ?? 0;
    max = Math.max(max, r);
    if (r === 0) return { ok: false, max, problem: `key ${key} never ran` };
    const allowed = IDEMPOTENT.has(system) ? 1 : sent;
    if (r > allowed) return { ok: false, max, problem: `key ${key} ran ${r} times (allowed ${allowed})` };
  }
  for (const key of runs.keys())
    if (!sends.has(key)) return { ok: false, max, problem: `unknown key ${key}` };
  return { ok: true, max, problem: undefined };
}

export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);

function diff(after, before) {
  const out = {};
  for (const [op, n] of Object.entries(after)) {
    const d = n - (before[op] ?? 0);
    if (d > 0) out[op] = d;
  }
  return out;
}

export function tail(file) {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}
