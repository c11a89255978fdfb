// npm run bench [-- --quick | --soak] [--runs N] [--count N] [--workloads a,b] [--systems a,b]
//                 [--out DIR] [--cpu-prof DIR] [--node-options=FLAGS]
//
// Ours against the alternative users would pick (sqs-consumer + Powertools idempotency), with a
// bare sqs-consumer baseline and a "floor" (the baseline plus the two DynamoDB calls alone).
// fauxqs and DynamoDB Local (dynalite without Java) run as processes of their own, each behind a
// counting proxy of ours; each system runs as its own process and is measured from outside, and
// so are the emulators: their CPU time per request served in each run (bench/emulator-cost.mjs).
// Everything started is stopped at the end, also on failure; a global deadline bounds the run.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ROOT, startDynamo, startFauxqs, stopAll } from './env.mjs';
import { startCountingProxy } from './proxy.mjs';
import { IDEMPOTENT, SYSTEMS, runOne } from './run-one.mjs';
import { aggregate, renderMarkdown, renderSvg } from './report.mjs';
import { measureProduce, soak } from './extras.mjs';
import { WORKLOADS } from './workloads.mjs';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    runs: { type: 'string' },
    count: { type: 'string' },
    workloads: { type: 'string' },
    systems: { type: 'string' },
    out: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'node-options': { type: 'string' },
  },
});
const mode = opts.soak ? 'soak' : opts.quick ? 'quick' : 'default';
/** Messages per run, by workload: sized so the default bench stays under 10 minutes on 2 cores. */
const COUNTS = {
  quick: { noop: 100, io100ms: 100, dup20: 100, fifo: 100 },
  default: { noop: 3000, io100ms: 2000, dup20: 3000, fifo: 3000 },
};
const RUNS = Number(opts.runs ?? (mode === 'quick' ? 1 : 3));
const DEADLINE_MS = { quick: 5 * 60_000, default: 14 * 60_000, soak: 30 * 60_000 }[mode];
const outDir =
  opts.out ??
  (mode === 'quick' ? mkdtempSync(join(tmpdir(), 'bench-quick-out-')) : join(ROOT, 'bench', 'results'));
const workloads = opts.workloads ? opts.workloads.split(',') : Object.keys(WORKLOADS);
const systems = opts.systems ? opts.systems.split(',') : SYSTEMS;
const log = (line) => process.stderr.write(`bench: ${line}\n`);

const tmp = mkdtempSync(join(tmpdir(), 'sqs-worker-bench-'));
let cleaning;
const cleanup = () => (cleaning ??= stopAll().finally(() => rmSync(tmp, { recursive: true, force: true })));
const abort = (why, code) => {
  log(why);
  void cleanup().finally(() => process.exit(code));
};
const deadline = setTimeout(
  () => abort(`global deadline of ${DEADLINE_MS / 1000} s reached: stopping`, 2),
  DEADLINE_MS,
);
deadline.unref();
process.on('SIGINT', () => abort('interrupted', 130));
process.on('SIGTERM', () => abort('terminated', 143));

/** Writes a report the way Prettier would (npm run lint checks every file in the repo). */
async function writeFormatted(file, text) {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}

async function main() {
  const started = Date.now();
  const fauxqs = await startFauxqs();
  const dynamo = await startDynamo(join(tmp, 'dynamodb.log'), log);
  log(`fauxqs on ${fauxqs.port}, ${dynamo.name} on ${dynamo.port}`);
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  const sqsDirect = new SQSClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${fauxqs.port}`,
    useQueueUrlAsEndpoint: false,
    credentials,
  });
  const ctx = {
    tmp,
    sqs: sqsDirect,
    sqsDirect,
    ddb: new DynamoDBClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${dynamo.port}`,
      credentials,
    }),
    sqsProxy: await startCountingProxy(fauxqs.port, { sqs: true }),
    ddbProxy: await startCountingProxy(dynamo.port),
    // The emulators' pids: each run reads their CPU time (with anything under them) at its start
    // and end, for CPU per request served (bench/emulator-cost.mjs).
    emulators: { ddbPid: dynamo.child.pid, sqsPid: fauxqs.child.pid },
    // --cpu-prof DIR: every system runs under node --cpu-prof, one profile per run named
    // <system>-<workload>-<run>-<id>.cpuprofile (bench/profile-top.mjs summarises one).
    cpuProfDir: opts['cpu-prof'],
    // --node-options=FLAGS: NODE_OPTIONS for every system (e.g. --max-semi-space-size=16).
    nodeOptions: opts['node-options'],
    runTimeoutMs: mode === 'quick' ? 60_000 : 180_000,
    log,
  };

  if (mode === 'soak') {
    const result = await soak(ctx, Number(opts.count ?? 200_000));
    mkdirSync(outDir, { recursive: true });
    await writeFormatted(join(outDir, 'soak.json'), JSON.stringify({ ...result, dynamodb: dynamo.name }));
    log(`soak: ${JSON.stringify(result)}`);
    return result.ok;
  }

  if (mode === 'default') {
    log('warm-up (not recorded): each system once on noop, 300 messages');
    for (const system of systems) await runOne(ctx, system, 'noop', 300, 'warmup');
  }
  const rows = [];
  for (let r = 0; r < RUNS; r += 1) {
    for (const [wi, workload] of workloads.entries()) {
      // Interleaved: the order of systems rotates from one run and workload to the next.
      const shift = (r + wi) % systems.length;
      const order = [...systems.slice(shift), ...systems.slice(0, shift)];
      for (const system of order) {
        const count = Number(opts.count ?? COUNTS[mode][workload]);
        const row = await runOne(ctx, system, workload, count, `r${r}`);
        log(
          `run ${r + 1}/${RUNS} ${workload} ${system}: ${row.throughput_msgs_per_s.toFixed(0)} msg/s, ` +
            `${row.cpu_us_per_msg.toFixed(0)} us CPU/msg, p50 ${row.p50_ms} ms, ` +
            `ddb ${row.ddb_requests_per_msg.toFixed(2)}/msg, sqs ${row.sqs_requests_per_msg.toFixed(3)}/msg, ` +
            `runs/key max ${row.handler_runs_per_key_max}; ` +
            `emulators: ddb ${row.ddb_emulator_cpu_us_per_req.toFixed(0)} us/req ${row.ddb_emulator_cores.toFixed(2)} cores, ` +
            `sqs ${row.sqs_emulator_cpu_us_per_req.toFixed(0)} us/req ${row.sqs_emulator_cores.toFixed(2)} cores, ` +
            `machine ${row.machine_cores_busy.toFixed(2)} cores busy${row.ok ? '' : `  FAILED: ${row.problem}`}`,
        );
        rows.push(row);
      }
    }
  }
  const produce = await measureProduce(
    ctx,
    fauxqs.port,
    mode === 'quick' ? 200 : 5000,
    mode === 'quick' ? 1 : 3,
  );
  log(`produce: ${JSON.stringify(produce)}`);

  const summary = aggregate(rows);
  const meta = {
    mode,
    date: new Date().toISOString(),
    node: process.version,
    dynamodb: dynamo.name,
    sqs: 'fauxqs 2.4.1 (in memory)',
    runs: RUNS,
    counts: Object.fromEntries(workloads.map((w) => [w, Number(opts.count ?? COUNTS[mode][w])])),
    elapsed_s: Math.round((Date.now() - started) / 1000),
  };
  mkdirSync(outDir, { recursive: true });
  await writeFormatted(join(outDir, 'latest.json'), JSON.stringify(summary));
  await writeFormatted(join(outDir, 'latest-runs.json'), JSON.stringify({ meta, produce, runs: rows }));
  writeFileSync(join(outDir, 'latest.svg'), renderSvg(summary));
  await writeFormatted(join(outDir, 'latest.md'), renderMarkdown(summary, meta, produce, outDir));
  // The whole report: the table, the ratios to the peer and the floor, and every target met or missed.
  process.stdout.write(readFileSync(join(outDir, 'latest.md'), 'utf8'));
  log(`results in ${outDir} (${meta.elapsed_s} s)`);

  const failed = rows.filter((row) => !row.ok);
  for (const row of failed) log(`FAILED ${row.workload} ${row.system}: ${row.problem}`);
  const idempotentOk = rows
    .filter((row) => IDEMPOTENT.has(row.system))
    .every((row) => row.handler_runs_per_key_max === 1);
  if (!idempotentOk) log('FAILED: an idempotent system ran a key more than once');
  return failed.length === 0 && idempotentOk && produce.ok;
}

let ok = false;
try {
  ok = await main();
} catch (error) {
  log(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  clearTimeout(deadline);
  await cleanup();
}
process.exit(ok ? 0 : 1);
