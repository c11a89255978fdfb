// npm run bench [-- --quick | --soak] [--runs N] [--count N] [--min-cell-s S] [--workloads a,b]
//                 [--systems a,b] [--flag-sets defaults,shared] [--out DIR] [--cpu-prof DIR]
//                 [--node-options=FLAGS]
//
// Ours against the alternative users would pick (sqs-consumer + Powertools idempotency), with a
// bare sqs-consumer baseline and a "floor" (the baseline plus the two DynamoDB calls alone).
// Ours runs twice: ours-single (STORE_BATCHING=off) and ours-batched (its defaults), when the
// build knows STORE_BATCHING (bench/flags.mjs); else once, as ours-single.
// Two passes, interleaved: every system on Node's defaults, and every system with the flags of
// ours' start script (bench/flags.mjs); the second gives the rows' *_same_flags fields.
// A full run sizes each cell from the last throughput measured for it (a calibration run first,
// which is also the warm-up), so that each measured run lasts at least --min-cell-s (15 s); every
// system of a cell handles the same count of messages (the fastest system's), so peak RSS compares
// equal work.
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
import { FLAG_SETS, startScriptFlags, v8Defaults, workerVariables } from './flags.mjs';
import { startCountingProxy } from './proxy.mjs';
import { IDEMPOTENT, OURS, SYSTEMS, runOne } from './run-one.mjs';
import { aggregate, renderMarkdown } from './report.mjs';
import { renderSvg } from './chart.mjs';
import { measureProduce, soak } from './extras.mjs';
import { WORKLOADS } from './workloads.mjs';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    runs: { type: 'string' },
    count: { type: 'string' },
    'min-cell-s': { type: 'string' },
    workloads: { type: 'string' },
    systems: { type: 'string' },
    'flag-sets': { type: 'string' },
    out: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'node-options': { type: 'string' },
  },
});
const mode = opts.soak ? 'soak' : opts.quick ? 'quick' : 'default';
/** --quick: messages per run (a smoke test: the figures mean nothing). */
const QUICK_COUNT = 100;
/** A full run: the calibration (and warm-up) run's messages, then each cell sized by time. */
const CALIBRATION_COUNT = 1000;
const MIN_CELL_S = Number(opts['min-cell-s'] ?? 15);
/** Messages of a sized run: enough for MIN_CELL_S at the last rate measured, with a margin. */
const MARGIN = 1.3;
/**
 * After the calibration run, or a run that came out short: a system's rate grows with the length
 * of the run (start of the run, JIT), so a short run understates it (measured: the peer at 274,
 * 366 and 475 msg/s in runs of 7.6, 14.6 and 15 s).
 */
const SHORT_MARGIN = 1.8;
const COUNT_BOUNDS = [500, 100_000];
const RUNS = Number(opts.runs ?? (mode === 'quick' ? 1 : 3));
/** A full run: 7 workloads x 5 systems x 2 passes x 3 runs of >= 15 s each is about 80 minutes. */
const DEADLINE_MS = { quick: 8 * 60_000, default: 150 * 60_000, soak: 30 * 60_000 }[mode];
const outDir =
  opts.out ??
  (mode === 'quick' ? mkdtempSync(join(tmpdir(), 'bench-quick-out-')) : join(ROOT, 'bench', 'results'));
const workloads = opts.workloads ? opts.workloads.split(',') : Object.keys(WORKLOADS);
const flagSets = opts['flag-sets'] ? opts['flag-sets'].split(',') : FLAG_SETS;
/** --quick runs the shared-flag pass on noop only, to stay short. */
const sharedWorkloads = mode === 'quick' ? ['noop'] : workloads;
const log = (line) => process.stderr.write(`bench: ${line}\n`);
for (const w of workloads) if (!WORKLOADS[w]) throw new Error(`bench: unknown workload ${w}`);
for (const f of flagSets) if (!FLAG_SETS.includes(f)) throw new Error(`bench: unknown flag set ${f}`);

const known = await workerVariables(ROOT);
const batching = known.has('STORE_BATCHING');
/** --systems may say `ours` for both of ours; without STORE_BATCHING there is only ours-single. */
const systems = (opts.systems ? opts.systems.split(',') : SYSTEMS)
  .flatMap((s) => (s === 'ours' ? [...OURS] : [s]))
  .filter((s) => batching || s !== 'ours-batched');
for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`bench: unknown system ${s}`);
if (!batching) log('this build has no STORE_BATCHING: ours runs once, as ours-single (single calls)');
const scriptFlags = startScriptFlags(ROOT);
const flags = { scriptFlags, scriptDefaults: v8Defaults(scriptFlags) };

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
    flags,
    workerVariables: known,
    runTimeoutMs: mode === 'quick' ? 60_000 : 300_000,
    log,
  };

  if (mode === 'soak') {
    const result = await soak(ctx, Number(opts.count ?? 200_000));
    mkdirSync(outDir, { recursive: true });
    await writeFormatted(join(outDir, 'soak.json'), JSON.stringify({ ...result, dynamodb: dynamo.name }));
    log(`soak: ${JSON.stringify(result)}`);
    return result.ok;
  }

  const rows = await measure(ctx);
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
    counts: countsNote(),
    min_cell_s: mode === 'quick' || opts.count ? undefined : MIN_CELL_S,
    flag_sets: {
      defaults: `Node's defaults for every system (ours: ${flags.scriptDefaults.join(' ') || 'nothing'} after its start script's ${scriptFlags.join(' ') || 'flags'})`,
      shared: `${scriptFlags.join(' ') || 'no flags'} for every system (ours' start script)${mode === 'quick' ? ', noop only' : ''}`,
    },
    store_batching: batching
      ? 'ours-single: STORE_BATCHING=off; ours-batched: defaults'
      : 'not in this build',
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

/** Messages per run: fixed (--quick, --count), else sized per cell by time. */
function countsNote() {
  if (opts.count) return `${Number(opts.count)} per run`;
  if (mode === 'quick') return `${QUICK_COUNT} per run`;
  return `sized per cell for at least ${MIN_CELL_S} s, the same for every system of a cell (${CALIBRATION_COUNT} to calibrate)`;
}

/**
 * Every measured run. Interleaved: for each run, workload and pass, the order of systems rotates.
 * A full run first calibrates (and warms up) each system on each workload; each later run of a cell
 * is sized from the last rate measured for it.
 */
async function measure(ctx) {
  const rates = new Map();
  const cell = (system, workload) => `${system}/${workload}`;
  if (mode === 'default' && !opts.count) {
    log(
      `calibration and warm-up (not recorded): every system on every workload, ${CALIBRATION_COUNT} messages`,
    );
    // DynamoDB Local is a JVM: cold, it serves the first few thousand requests slower, and the
    // first workload's calibration would understate every system's rate.
    const warmer = systems.find((s) => s !== 'baseline') ?? systems[0];
    await runOne(ctx, warmer, 'noop', 2 * CALIBRATION_COUNT, 'emulator-warmup');
    for (const workload of workloads) {
      for (const system of systems) {
        const row = await runOne(ctx, system, workload, CALIBRATION_COUNT, 'cal');
        rates.set(cell(system, workload), { rate: row.throughput_msgs_per_s, margin: SHORT_MARGIN });
      }
    }
  }
  const countFor = (system, workload) => {
    if (opts.count) return Number(opts.count);
    if (mode === 'quick') return QUICK_COUNT;
    const { rate, margin } = rates.get(cell(system, workload)) ?? { rate: 100, margin: SHORT_MARGIN };
    const wanted = Math.ceil((rate * MIN_CELL_S * margin) / 10) * 10;
    return Math.min(COUNT_BOUNDS[1], Math.max(COUNT_BOUNDS[0], wanted));
  };
  const rows = [];
  for (let r = 0; r < RUNS; r += 1) {
    for (const [wi, workload] of workloads.entries()) {
      for (const flagSet of flagSets) {
        if (flagSet === 'shared' && !sharedWorkloads.includes(workload)) continue;
        const shift = (r + wi) % systems.length;
        const order = [...systems.slice(shift), ...systems.slice(0, shift)];
        // Every system of a cell handles the same messages, as many as the fastest needs for
        // MIN_CELL_S (the others run longer): what a process holds grows with the messages it has
        // handled, not with time (V8's full GCs come after so much promoted garbage), so peak RSS
        // compares like with like only at equal counts. Throughput and CPU per message are
        // unchanged by it; the slower systems' longer runs only narrow their ranges.
        let cellCount = Math.max(...order.map((system) => countFor(system, workload)));
        for (const system of order) {
          const what = `run ${r + 1}/${RUNS} ${workload} ${flagSet} ${system}`;
          let row;
          // A run shorter than MIN_CELL_S (the machine sped up) is run again, sized from itself.
          for (let attempt = 0; attempt < 3 && (row === undefined || isShort(row)); attempt += 1) {
            if (row) logRow(row, `${what} (too short: run again with more messages, not recorded)`);
            const count = row ? Math.max(cellCount, countFor(system, workload)) : cellCount;
            row = await runOne(ctx, system, workload, count, `r${r}`, flagSet);
            const margin = isShort(row) ? SHORT_MARGIN : MARGIN;
            rates.set(cell(system, workload), { rate: row.throughput_msgs_per_s, margin });
          }
          // A short run's rerun raised the count: the systems after it in the cell get it too (the
          // ones before keep theirs; in practice only a first run after calibration comes out short).
          cellCount = Math.max(cellCount, row.messages);
          logRow(row, what);
          rows.push(row);
        }
      }
    }
  }
  return rows;
}

/** A full run's measured run that lasted less than MIN_CELL_S, below the largest count. */
function isShort(row) {
  return mode === 'default' && !opts.count && row.duration_s < MIN_CELL_S && row.messages < COUNT_BOUNDS[1];
}

function logRow(row, what) {
  const short = isShort(row);
  log(
    `${what}: ${row.messages} msgs in ${row.duration_s.toFixed(1)} s${short ? ` (SHORT: < ${MIN_CELL_S} s)` : ''}, ` +
      `${row.throughput_msgs_per_s.toFixed(0)} msg/s, ` +
      `${row.cpu_us_per_msg.toFixed(0)} us CPU/msg, p50 ${row.p50_ms} ms, RSS ${row.peak_rss_mb.toFixed(0)} MB, ` +
      `ddb ${row.ddb_requests_per_msg.toFixed(2)}/msg, sqs ${row.sqs_requests_per_msg.toFixed(3)}/msg, ` +
      `runs/key max ${row.handler_runs_per_key_max}${row.store_writes ? `, ${row.store_writes} writes` : ''}; ` +
      `emulators: ddb ${row.ddb_emulator_cpu_us_per_req.toFixed(0)} us/req ${row.ddb_emulator_cores.toFixed(2)} cores, ` +
      `sqs ${row.sqs_emulator_cpu_us_per_req.toFixed(0)} us/req ${row.sqs_emulator_cores.toFixed(2)} cores, ` +
      `machine ${row.machine_cores_busy.toFixed(2)} cores busy${row.ok ? '' : `  FAILED: ${row.problem}`}`,
  );
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
