// Medians and ranges of the runs, the markdown report with ratios and targets, and the SVG chart.
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { find, oursDefault, ratioRange, showRatio, targets } from './targets.mjs';

const METRICS = [
  'throughput_msgs_per_s',
  'cpu_us_per_msg',
  'p50_ms',
  'p99_ms',
  'peak_rss_mb',
  'ddb_requests_per_msg',
  'sqs_requests_per_msg',
  'duration_s',
];
/** Metrics of the shared-flag pass, in each row as <metric>_same_flags (issue 22, finding 3). */
const SAME_FLAG_METRICS = ['peak_rss_mb', 'cpu_us_per_msg', 'throughput_msgs_per_s', 'p50_ms'];
/**
 * Optional per-run fields (bench/emulator-cost.mjs): medians and ranges where runs have them.
 * Requests are what each emulator served in the run, as its counting proxy saw them.
 */
const OPTIONAL_METRICS = [
  'ddb_emulator_cpu_us_per_req',
  'ddb_emulator_cores',
  'ddb_emulator_cpu_us_per_msg',
  'sqs_emulator_cpu_us_per_req',
  'sqs_emulator_cores',
  'ddb_request_body_bytes',
  'ddb_response_body_bytes',
  'sqs_request_body_bytes',
  'sqs_response_body_bytes',
  'bench_process_cpu_us_per_msg',
  'all_cpu_us_per_msg',
  'machine_cores_busy',
];
export const SYSTEM_ORDER = ['baseline', 'floor', 'peer', 'ours-single', 'ours-batched'];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x, digits) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
const DIGITS = {
  sqs_requests_per_msg: 3,
  ddb_requests_per_msg: 3,
  peak_rss_mb: 1,
  ddb_emulator_cores: 2,
  sqs_emulator_cores: 2,
  machine_cores_busy: 2,
  ddb_request_body_bytes: 0,
  ddb_response_body_bytes: 0,
  sqs_request_body_bytes: 0,
  sqs_response_body_bytes: 0,
};

/** Medians and min–max of one cell's runs (one workload, system and pass). */
function summarize(runs) {
  const row = { runs: runs.length };
  const range = {};
  for (const m of [...METRICS, ...OPTIONAL_METRICS]) {
    const xs = runs.map((r) => r[m]).filter((x) => Number.isFinite(x));
    if (xs.length === 0) continue;
    const d = DIGITS[m] ?? 1;
    row[m] = round(median(xs), d);
    range[m] = [round(Math.min(...xs), d), round(Math.max(...xs), d)];
  }
  row.range = range;
  return row;
}

/**
 * One row per (workload, system): medians, plus `range` with min and max of each metric, from the
 * runs on Node's defaults (`flags: 'defaults'`; or, when only the shared-flag pass ran, from it),
 * and <metric>_same_flags with its range from the shared-flag pass (null when it did not run).
 * ok and runs/key max cover both passes.
 */
export function aggregate(rows) {
  const groups = Map.groupBy(rows, (r) => `${r.workload}\u0000${r.system}`);
  return [...groups.values()].map((runs) => {
    const byFlags = Map.groupBy(runs, (r) => r.flags ?? 'defaults');
    const main = byFlags.get('defaults') ?? byFlags.get('shared');
    const shared = byFlags.has('defaults') ? byFlags.get('shared') : undefined;
    const { range, ...medians } = summarize(main);
    const row = { workload: runs[0].workload, system: runs[0].system, flags: main[0].flags ?? 'defaults' };
    Object.assign(row, medians);
    row.handler_runs_per_key_max = Math.max(...runs.map((r) => r.handler_runs_per_key_max));
    row.messages = main[0].messages;
    row.ok = runs.every((r) => r.ok);
    const writes = [...new Set(runs.map((r) => r.store_writes).filter(Boolean))];
    if (writes.length) row.store_writes = writes.join('+');
    const same = shared ? summarize(shared) : undefined;
    row.runs_same_flags = same?.runs ?? 0;
    for (const m of SAME_FLAG_METRICS) {
      row[`${m}_same_flags`] = same?.[m] ?? null;
      if (same?.range[m]) range[`${m}_same_flags`] = same.range[m];
    }
    row.range = range;
    return row;
  });
}

const fmt = (x, d = 0) => (x === null || x === undefined ? 'n/a' : Number(x).toFixed(d));
/** A median with its min–max; the median alone for one run, n/a when not measured. */
const cell = (row, m, d) => {
  const range = row.range[m];
  if (!range || row[m] === null || row[m] === undefined) return 'n/a';
  return range[0] === range[1]
    ? fmt(row[m], d)
    : `${fmt(row[m], d)} (${fmt(range[0], d)}–${fmt(range[1], d)})`;
};

export function renderTable(summary) {
  const lines = [
    '| workload | system | msg/s | CPU µs/msg | p50 ms | p99 ms | peak RSS MB | peak RSS MB, shared flag | DDB req/msg | SQS req/msg | s/run | runs/key max |',
    '| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const r of sorted(summary)) {
    const name = r.store_writes ? `${r.system} (${r.store_writes} writes)` : r.system;
    lines.push(
      `| ${r.workload} | ${name} | ${cell(r, 'throughput_msgs_per_s')} | ${cell(r, 'cpu_us_per_msg')} | ` +
        `${fmt(r.p50_ms)} | ${fmt(r.p99_ms)} | ${cell(r, 'peak_rss_mb')} | ${cell(r, 'peak_rss_mb_same_flags')} | ` +
        `${fmt(r.ddb_requests_per_msg, 2)} | ${fmt(r.sqs_requests_per_msg, 3)} | ${fmt(r.duration_s, 1)} | ` +
        `${r.handler_runs_per_key_max} |`,
    );
  }
  return lines.join('\n');
}

/** The shared-flag pass: the same cells with every system on the start script's flags. */
export function renderSameFlags(summary) {
  const rows = sorted(summary).filter((r) => r.runs_same_flags > 0);
  if (rows.length === 0) return [];
  const lines = [
    '| workload | system | msg/s | CPU µs/msg | p50 ms | peak RSS MB |',
    '| --- | --- | --: | --: | --: | --: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.workload} | ${r.system} | ${cell(r, 'throughput_msgs_per_s_same_flags')} | ` +
        `${cell(r, 'cpu_us_per_msg_same_flags')} | ${fmt(r.p50_ms_same_flags)} | ${cell(r, 'peak_rss_mb_same_flags')} |`,
    );
  }
  return lines;
}

function sorted(summary) {
  const workloads = [...new Set(summary.map((r) => r.workload))];
  return [...summary].sort(
    (a, b) =>
      workloads.indexOf(a.workload) - workloads.indexOf(b.workload) ||
      SYSTEM_ORDER.indexOf(a.system) - SYSTEM_ORDER.indexOf(b.system),
  );
}

function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux
  }
  return `${cpus().length} cores, ${model}`;
}

function readSoak(dir) {
  try {
    return JSON.parse(readFileSync(`${dir}/soak.json`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function renderMarkdown(summary, meta, produce, outDir) {
  const soak = outDir ? readSoak(outDir) : undefined;
  const ours = oursDefault(summary);
  const lines = [
    `# Benchmark: ${meta.date.slice(0, 10)}`,
    '',
    `Machine: ${machine()}. Node ${meta.node}. SQS: ${meta.sqs}; DynamoDB: ${meta.dynamodb}. ` +
      `${meta.runs} interleaved runs per cell (medians, min–max in brackets); messages per run: ` +
      `${meta.counts}. Ours: ${meta.store_batching}. Took ${meta.elapsed_s} s.`,
    '',
    `V8 flags: the main table has ${meta.flag_sets.defaults}; "shared flag": ${meta.flag_sets.shared}.`,
    '',
    renderTable(summary),
    '',
  ];
  const same = renderSameFlags(summary);
  if (same.length) lines.push('### Every system with the shared flag', '', ...same, '');
  lines.push(...renderRatios(summary, ours));
  lines.push(
    '',
    '## Targets (reported, not asserted)',
    '',
    'Met or missed by the medians; a verdict whose min–max range crosses the limit is not claimed.',
    '',
    '| target | measured (min–max) | verdict |',
    '| --- | --: | --- |',
  );
  for (const t of targets(summary, { produce, soak, meta })) {
    const v = t.met === undefined ? '—' : t.met ? 'met' : '**missed**';
    lines.push(`| ${t.name} | ${t.value} | ${t.note ? `${v}; ${t.note}` : v} |`);
  }
  if (summary.some((r) => r.ddb_emulator_cores !== undefined)) lines.push('', ...renderEmulators(summary));
  lines.push(
    '',
    `Produce: \`node dist/main.js produce --count ${produce.count}\` against fauxqs: ` +
      `${fmt(produce.wall_ms)} ms wall (median of ${produce.reps}), of which ${fmt(produce.startup_ms)} ms ` +
      `is process start-up and one send (\`--count 1\`): ${fmt(produce.msgs_per_s)} msg/s sending, ` +
      `${fmt(produce.msgs_per_s_including_startup)} msg/s with start-up.`,
    '',
    '![throughput per system and workload](latest.svg)',
    '',
  );
  return lines.join('\n');
}

/** Ratios of medians, each with its min–max range; ≈: the range spans 1, no difference claimed. */
function renderRatios(summary, ours) {
  const systems = ['ours-single', 'ours-batched'].filter((s) => summary.some((r) => r.system === s));
  const head = ['workload'];
  for (const s of systems) head.push(`CPU/msg ${s}/peer`, `CPU/msg ${s}/floor`, `msg/s ${s}/peer`);
  head.push(`peak RSS ${ours}/peer`, `peak RSS ${ours}/peer, shared flag`, 'CPU/msg floor/peer');
  const lines = [
    '## Ratios',
    '',
    'Ratio of the medians (range: lowest over highest run to highest over lowest run); ≈: the range ' +
      'spans 1, so no difference is claimed.',
    '',
    `| ${head.join(' | ')} |`,
    `| --- |${' --: |'.repeat(head.length - 1)}`,
  ];
  for (const w of [...new Set(summary.map((r) => r.workload))]) {
    const r = (a, b, m, suffix) => showRatio(ratioRange(summary, w, a, b, m, suffix));
    const cells = [w];
    for (const s of systems) {
      cells.push(
        r(s, 'peer', 'cpu_us_per_msg'),
        r(s, 'floor', 'cpu_us_per_msg'),
        r(s, 'peer', 'throughput_msgs_per_s'),
      );
    }
    cells.push(
      r(ours, 'peer', 'peak_rss_mb'),
      r(ours, 'peer', 'peak_rss_mb', '_same_flags'),
      r('floor', 'peer', 'cpu_us_per_msg'),
    );
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

/**
 * The Emulators table: what DynamoDB Local (or dynalite) and fauxqs spent per request they served,
 * in each cell, and the throughput that CPU alone allows on this machine; then, for the targets
 * against the peer, the measured figures that bound them.
 */
export function renderEmulators(summary) {
  const cores = cpus().length;
  const ceiling = (usPerMsg) => (usPerMsg > 0 ? (cores * 1e6) / usPerMsg : undefined);
  const bytes = (r, side) =>
    r[`${side}_request_body_bytes`] === undefined
      ? 'n/a'
      : `${fmt(r[`${side}_request_body_bytes`])} / ${fmt(r[`${side}_response_body_bytes`])}`;
  const lines = [
    '## Emulators',
    '',
    `Each run's CPU time (user+sys, /proc, the process and anything under it) of the DynamoDB ` +
      `emulator and of fauxqs, divided by the requests each served in that run (counted by its ` +
      `proxy), and as cores (CPU time / the run's wall time); mean body bytes per request / per ` +
      `answer; the bench process (both proxies) per message; all CPU: the system, both emulators ` +
      `and the bench process per message; machine: busy cores of the whole machine during the run ` +
      `(other load included). Ceilings on ${cores} cores: DDB alone = ${cores} cores / the DynamoDB ` +
      `emulator's CPU per message; all CPU = ${cores} cores / all CPU per message. Medians.`,
    '',
    '| workload | system | DDB µs/req | DDB cores | DDB bytes req/ans | SQS µs/req | SQS cores | SQS bytes req/ans | bench µs/msg | all CPU µs/msg | machine cores | ceiling msg/s: DDB alone | ceiling msg/s: all CPU |',
    '| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const r of sorted(summary)) {
    lines.push(
      `| ${r.workload} | ${r.system} | ${cell(r, 'ddb_emulator_cpu_us_per_req')} | ${fmt(r.ddb_emulator_cores, 2)} | ` +
        `${bytes(r, 'ddb')} | ${fmt(r.sqs_emulator_cpu_us_per_req)} | ${fmt(r.sqs_emulator_cores, 2)} | ` +
        `${bytes(r, 'sqs')} | ${fmt(r.bench_process_cpu_us_per_msg)} | ${fmt(r.all_cpu_us_per_msg)} | ` +
        `${fmt(r.machine_cores_busy, 2)} | ${fmt(ceiling(r.ddb_emulator_cpu_us_per_msg))} | ` +
        `${fmt(ceiling(r.all_cpu_us_per_msg))} |`,
    );
  }
  const notes = [];
  const oursName = oursDefault(summary);
  /** The throughput targets against the peer (bench/targets.mjs). */
  const factor = { noop: 1.3, 'latency-10': 1.5, 'latency-50': 1.5, 'latency-200': 1.5 };
  for (const w of Object.keys(factor)) {
    const peer = find(summary, w, 'peer');
    const floor = find(summary, w, 'floor');
    const ours = find(summary, w, oursName);
    if (!peer || !ours) continue;
    const target = factor[w] * peer.throughput_msgs_per_s;
    const ddbCap = ceiling(ours.ddb_emulator_cpu_us_per_msg);
    const allCap = ceiling(ours.all_cpu_us_per_msg);
    if (ddbCap !== undefined) {
      notes.push(
        `- ${w}: ${factor[w]}× the peer's throughput is ${fmt(target)} msg/s. The DynamoDB emulator spent ` +
          `${fmt(ours.ddb_emulator_cpu_us_per_req)} µs of CPU per request of ours ` +
          `(${['floor', 'peer']
            .map((s) => find(summary, w, s))
            .filter(Boolean)
            .map((x) => `${x.system} ${fmt(x.ddb_emulator_cpu_us_per_req)}`)
            .join(', ')}), ` +
          `${fmt(ours.ddb_emulator_cpu_us_per_msg)} µs per message: alone it caps ours at ${fmt(ddbCap)} ` +
          `msg/s on ${cores} cores, and it is ` +
          `${fmt((100 * ours.ddb_emulator_cpu_us_per_msg) / ours.all_cpu_us_per_msg)} % of all the CPU ` +
          `spent per message; with every process's CPU counted, the cap is ${fmt(allCap)} msg/s` +
          ` (the machine was ${fmt(ours.machine_cores_busy, 2)} of ${cores} cores busy in ours' runs).`,
      );
      const others = ours.all_cpu_us_per_msg - ours.cpu_us_per_msg;
      const othersCap = ceiling(others);
      if (othersCap !== undefined)
        notes.push(
          `- ${w}: were ours free, the emulators and the proxies alone (${fmt(others)} µs of CPU per ` +
            `message) would cap it at ${fmt(othersCap)} msg/s: ` +
            `${fmt(othersCap / (ceiling(peer.all_cpu_us_per_msg) ?? NaN), 2)}× the peer's cap counted ` +
            `the same way (${fmt(ceiling(peer.all_cpu_us_per_msg))} msg/s, all CPU; CPU per message, unlike ` +
            `throughput, hardly moves with other load on the machine), ` +
            `${fmt(othersCap / peer.throughput_msgs_per_s, 2)}× the peer's measured throughput.`,
        );
    }
    const floorPeer = floor && floor.cpu_us_per_msg / peer.cpu_us_per_msg;
    if (floorPeer)
      notes.push(
        `- ${w}: the floor (two bare UpdateItem calls) uses ${fmt(floorPeer, 2)}× the peer's CPU per ` +
          `message; 0.6× the peer is ${fmt(floorPeer > 0 ? 0.6 / floorPeer : NaN, 2)}× the floor.`,
      );
  }
  if (notes.length)
    lines.push('', 'What bounds the targets against the peer (measured in this run):', '', ...notes);
  return lines;
}
