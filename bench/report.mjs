// Medians and ranges of the runs, the markdown report with ratios and targets, and the SVG chart.
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';

const METRICS = [
  'throughput_msgs_per_s',
  'cpu_us_per_msg',
  'p50_ms',
  'p99_ms',
  'peak_rss_mb',
  'ddb_requests_per_msg',
  'sqs_requests_per_msg',
];
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
const SYSTEM_ORDER = ['baseline', 'floor', 'peer', 'ours'];

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

/** One row per (workload, system): medians, plus `range` with min and max of each metric. */
export function aggregate(rows) {
  const groups = Map.groupBy(rows, (r) => `${r.workload}\u0000${r.system}`);
  return [...groups.values()].map((runs) => {
    const row = { workload: runs[0].workload, system: runs[0].system, runs: runs.length };
    const range = {};
    for (const m of METRICS) {
      const xs = runs.map((r) => r[m]);
      const d = DIGITS[m] ?? 1;
      row[m] = round(median(xs), d);
      range[m] = [round(Math.min(...xs), d), round(Math.max(...xs), d)];
    }
    row.handler_runs_per_key_max = Math.max(...runs.map((r) => r.handler_runs_per_key_max));
    row.messages = runs[0].messages;
    row.ok = runs.every((r) => r.ok);
    for (const m of OPTIONAL_METRICS) {
      const xs = runs.map((r) => r[m]).filter((x) => Number.isFinite(x));
      if (xs.length === 0) continue;
      const d = DIGITS[m] ?? 1;
      row[m] = round(median(xs), d);
      range[m] = [round(Math.min(...xs), d), round(Math.max(...xs), d)];
    }
    row.range = range;
    return row;
  });
}

const fmt = (x, d = 0) => (x === null || x === undefined ? 'n/a' : Number(x).toFixed(d));
const cell = (row, m, d) => `${fmt(row[m], d)} (${fmt(row.range[m][0], d)}–${fmt(row.range[m][1], d)})`;

export function renderTable(summary) {
  const lines = [
    '| workload | system | msg/s | CPU µs/msg | p50 ms | p99 ms | peak RSS MB | DDB req/msg | SQS req/msg | runs/key max |',
    '| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const r of sorted(summary)) {
    lines.push(
      `| ${r.workload} | ${r.system} | ${cell(r, 'throughput_msgs_per_s')} | ${cell(r, 'cpu_us_per_msg')} | ` +
        `${fmt(r.p50_ms)} | ${fmt(r.p99_ms)} | ${fmt(r.peak_rss_mb)} | ${fmt(r.ddb_requests_per_msg, 2)} | ` +
        `${fmt(r.sqs_requests_per_msg, 3)} | ${r.handler_runs_per_key_max} |`,
    );
  }
  return lines.join('\n');
}

function sorted(summary) {
  const workloads = [...new Set(summary.map((r) => r.workload))];
  return [...summary].sort(
    (a, b) =>
      workloads.indexOf(a.workload) - workloads.indexOf(b.workload) ||
      SYSTEM_ORDER.indexOf(a.system) - SYSTEM_ORDER.indexOf(b.system),
  );
}

const find = (summary, workload, system) =>
  summary.find((r) => r.workload === workload && r.system === system);

function ratio(summary, workload, a, b, metric) {
  const x = find(summary, workload, a)?.[metric];
  const y = find(summary, workload, b)?.[metric];
  return x && y ? x / y : undefined;
}

/** Each target: what was measured and whether it is met. */
export function targets(summary, produce, soak) {
  const out = [];
  const add = (name, value, met, shown) => out.push({ name, value: shown ?? value, met });
  for (const w of ['noop', 'io100ms']) {
    const cpu = ratio(summary, w, 'ours', 'peer', 'cpu_us_per_msg');
    const tput = ratio(summary, w, 'ours', 'peer', 'throughput_msgs_per_s');
    if (cpu !== undefined) add(`${w}: CPU/msg ours/peer ≤ 0.7`, cpu, cpu <= 0.7, `${cpu.toFixed(2)}×`);
    if (tput !== undefined) add(`${w}: throughput ours/peer ≥ 1.5`, tput, tput >= 1.5, `${tput.toFixed(2)}×`);
  }
  const ours = summary.filter((r) => r.system === 'ours');
  if (ours.length) {
    const worst = Math.max(...ours.map((r) => r.sqs_requests_per_msg));
    add('SQS requests/msg (ours, every workload) ≤ 0.22', worst, worst <= 0.22, `max ${worst.toFixed(3)}`);
  }
  const noop = find(summary, 'noop', 'ours');
  if (noop) {
    add(
      'DynamoDB requests per new message = 2',
      noop.ddb_requests_per_msg,
      Math.abs(noop.ddb_requests_per_msg - 2) < 0.01,
      noop.ddb_requests_per_msg.toFixed(3),
    );
  }
  const dup = find(summary, 'dup20', 'ours');
  if (dup && noop) {
    // 80 % new keys at the noop rate; the rest is what the 20 % duplicates cost.
    const perDup = (dup.ddb_requests_per_msg - 0.8 * noop.ddb_requests_per_msg) / 0.2;
    add('DynamoDB requests per duplicate ≤ 1', perDup, perDup <= 1.0001, perDup.toFixed(2));
  }
  for (const w of ['noop', 'io100ms', 'dup20', 'fifo']) {
    const rss = ratio(summary, w, 'ours', 'peer', 'peak_rss_mb');
    if (rss !== undefined) add(`${w}: peak RSS ours ≤ peer`, rss, rss <= 1, `${rss.toFixed(2)}×`);
  }
  for (const w of ['noop', 'io100ms', 'dup20', 'fifo']) {
    const floor = ratio(summary, w, 'ours', 'floor', 'cpu_us_per_msg');
    if (floor !== undefined)
      add(`${w}: CPU/msg ours/floor ≤ 1.2`, floor, floor <= 1.2, `${floor.toFixed(2)}×`);
  }
  if (produce) {
    add(
      'produce ≥ 5,000 msg/s (start-up excluded)',
      produce.msgs_per_s,
      produce.msgs_per_s >= 5000,
      `${produce.msgs_per_s.toFixed(0)} msg/s (${produce.msgs_per_s_including_startup.toFixed(0)} with start-up)`,
    );
  }
  if (soak) {
    add(
      `soak RSS growth after warm-up < 10 % (${soak.messages} msgs)`,
      soak.rss_growth_pct,
      soak.rss_growth_pct < 10,
      `${soak.rss_growth_pct.toFixed(1)} %`,
    );
  } else {
    out.push({
      name: 'soak RSS growth after warm-up < 10 %',
      value: 'not run (npm run bench -- --soak)',
      met: undefined,
    });
  }
  return out;
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
  const lines = [
    `# Benchmark: ${meta.date.slice(0, 10)}`,
    '',
    `Machine: ${machine()}. Node ${meta.node}. SQS: ${meta.sqs}; DynamoDB: ${meta.dynamodb}. ` +
      `${meta.runs} interleaved runs per cell (medians, min–max in brackets); messages per run: ` +
      `${Object.entries(meta.counts)
        .map(([w, n]) => `${w} ${n}`)
        .join(', ')}. Took ${meta.elapsed_s} s.`,
    '',
    renderTable(summary),
    '',
    '## Ratios',
    '',
    '| workload | CPU/msg ours/peer | throughput ours/peer | peak RSS ours/peer | CPU/msg ours/floor | CPU/msg floor/peer | throughput floor/peer |',
    '| --- | --: | --: | --: | --: | --: | --: |',
  ];
  for (const w of [...new Set(summary.map((r) => r.workload))]) {
    const r = (a, b, m) => fmt(ratio(summary, w, a, b, m), 2);
    lines.push(
      `| ${w} | ${r('ours', 'peer', 'cpu_us_per_msg')} | ${r('ours', 'peer', 'throughput_msgs_per_s')} | ` +
        `${r('ours', 'peer', 'peak_rss_mb')} | ${r('ours', 'floor', 'cpu_us_per_msg')} | ` +
        `${r('floor', 'peer', 'cpu_us_per_msg')} | ${r('floor', 'peer', 'throughput_msgs_per_s')} |`,
    );
  }
  lines.push('', '## Targets (reported, not asserted)', '', '| target | measured | |', '| --- | --: | --- |');
  for (const t of targets(summary, produce, soak)) {
    lines.push(`| ${t.name} | ${t.value} | ${t.met === undefined ? '—' : t.met ? 'met' : '**missed**'} |`);
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
    const ddbRange = r.range.ddb_emulator_cpu_us_per_req;
    lines.push(
      `| ${r.workload} | ${r.system} | ${fmt(r.ddb_emulator_cpu_us_per_req)}` +
        `${ddbRange ? ` (${fmt(ddbRange[0])}–${fmt(ddbRange[1])})` : ''} | ${fmt(r.ddb_emulator_cores, 2)} | ` +
        `${bytes(r, 'ddb')} | ${fmt(r.sqs_emulator_cpu_us_per_req)} | ${fmt(r.sqs_emulator_cores, 2)} | ` +
        `${bytes(r, 'sqs')} | ${fmt(r.bench_process_cpu_us_per_msg)} | ${fmt(r.all_cpu_us_per_msg)} | ` +
        `${fmt(r.machine_cores_busy, 2)} | ${fmt(ceiling(r.ddb_emulator_cpu_us_per_msg))} | ` +
        `${fmt(ceiling(r.all_cpu_us_per_msg))} |`,
    );
  }
  const notes = [];
  for (const w of ['noop', 'io100ms']) {
    const peer = find(summary, w, 'peer');
    const floor = find(summary, w, 'floor');
    const ours = find(summary, w, 'ours');
    if (!peer || !ours) continue;
    const target = 1.5 * peer.throughput_msgs_per_s;
    const ddbCap = ceiling(ours.ddb_emulator_cpu_us_per_msg);
    const allCap = ceiling(ours.all_cpu_us_per_msg);
    if (ddbCap !== undefined) {
      notes.push(
        `- ${w}: 1.5× the peer's throughput is ${fmt(target)} msg/s. The DynamoDB emulator spent ` +
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
          `message; 0.7× the peer is ${fmt(floorPeer > 0 ? 0.7 / floorPeer : NaN, 2)}× the floor.`,
      );
  }
  if (notes.length)
    lines.push('', 'What bounds the targets against the peer (measured in this run):', '', ...notes);
  return lines;
}

const COLORS = { baseline: '#9e9e9e', floor: '#607d8b', peer: '#e69f00', ours: '#0072b2' };

/** A grouped bar chart of throughput: workloads along x, one bar per system. Hand-written SVG. */
export function renderSvg(summary) {
  const workloads = [...new Set(summary.map((r) => r.workload))];
  const systems = SYSTEM_ORDER.filter((s) => summary.some((r) => r.system === s));
  const max = Math.max(...summary.map((r) => r.range.throughput_msgs_per_s[1] ?? 0), 1);
  const W = 720;
  const H = 360;
  const left = 60;
  const bottom = 300;
  const top = 40;
  const groupW = (W - left - 20) / workloads.length;
  const barW = (groupW - 30) / systems.length;
  const y = (v) => bottom - ((bottom - top) * v) / max;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Throughput, messages/s (median; whisker: min–max)</text>`,
  ];
  for (let i = 0; i <= 4; i += 1) {
    const v = (max * i) / 4;
    out.push(
      `<line x1="${left}" x2="${W - 20}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v)}</text>`,
    );
  }
  workloads.forEach((w, wi) => {
    const gx = left + wi * groupW + 15;
    systems.forEach((s, si) => {
      const r = find(summary, w, s);
      if (!r) return;
      const x = gx + si * barW;
      const v = r.throughput_msgs_per_s;
      const [lo, hi] = r.range.throughput_msgs_per_s;
      const cx = (x + barW / 2 - 1).toFixed(1);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(bottom - y(v)).toFixed(1)}" fill="${COLORS[s]}"><title>${s} ${w}: ${Math.round(v)} msg/s</title></rect>`,
        `<line x1="${cx}" x2="${cx}" y1="${y(hi).toFixed(1)}" y2="${y(lo).toFixed(1)}" stroke="#000"/>`,
        `<text x="${cx}" y="${(y(hi) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${Math.round(v)}</text>`,
      );
    });
    out.push(
      `<text x="${(gx + (barW * systems.length) / 2).toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${w}</text>`,
    );
  });
  out.push(`<line x1="${left}" x2="${W - 20}" y1="${bottom}" y2="${bottom}" stroke="#000"/>`);
  systems.forEach((s, i) => {
    const x = left + i * 150;
    out.push(
      `<rect x="${x}" y="${bottom + 34}" width="12" height="12" fill="${COLORS[s]}"/>`,
      `<text x="${x + 18}" y="${bottom + 44}">${s}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}
