// The ratios between systems with their min–max ranges, and the targets of issue 22 with a verdict
// each: met or missed by the medians, and whether the runs' ranges are narrow enough to claim it.

export const find = (summary, workload, system) =>
  summary.find((r) => r.workload === workload && r.system === system);

/** The system that is "ours" at its defaults: batched where the build has batching. */
export function oursDefault(summary) {
  return summary.some((r) => r.system === 'ours-batched') ? 'ours-batched' : 'ours-single';
}

/**
 * a/b of one metric on one workload: the ratio of the medians, and its range from the runs' ranges
 * (lowest a / highest b to highest a / lowest b). `suffix` picks another set of fields
 * ('_same_flags': the shared-flag pass). Undefined when either side was not measured.
 */
export function ratioRange(summary, workload, a, b, metric, suffix = '') {
  const x = find(summary, workload, a);
  const y = find(summary, workload, b);
  const m = `${metric}${suffix}`;
  if (!x || !y || !x[m] || !y[m]) return undefined;
  const [xlo, xhi] = x.range[m] ?? [x[m], x[m]];
  const [ylo, yhi] = y.range[m] ?? [y[m], y[m]];
  const runs = Math.min(x[`runs${suffix}`] ?? x.runs, y[`runs${suffix}`] ?? y.runs);
  return { value: x[m] / y[m], lo: xlo / yhi, hi: xhi / ylo, runs };
}

const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

/** `0.97 (0.90–1.05)`; `≈` marks a range that spans 1 (no difference can be claimed). */
export function showRatio(r, unit = '') {
  if (!r) return 'n/a';
  if (r.runs < 2) return `${f2(r.value)}${unit}`;
  return `${f2(r.value)}${unit} (${f2(r.lo)}–${f2(r.hi)})${r.lo <= 1 && r.hi >= 1 ? ' ≈' : ''}`;
}

/**
 * A target on a ratio (or a plain figure with a range): met or missed by the median, and firm
 * only when the whole range lies on the same side of the limit.
 */
export function verdict(r, op, limit) {
  const ok = (x) => (op === '<=' ? x <= limit : x >= limit);
  const met = ok(r.value);
  if (r.runs < 2) return { met, note: 'one run: no range' };
  const firm = met ? ok(r.lo) && ok(r.hi) : !ok(r.lo) && !ok(r.hi);
  return {
    met,
    note: firm ? '' : `range too wide to claim it: ${f2(r.lo)}–${f2(r.hi)} spans ${limit}`,
  };
}

/** The highest of several ratios (or figures), by median, with its workload. */
function worst(items) {
  return items.filter((i) => i.r).sort((a, b) => b.r.value - a.r.value)[0];
}

/** Each target of issue 22: what was measured (with its range), and the verdict. */
export function targets(summary, { produce, soak, meta } = {}) {
  const out = [];
  const ours = oursDefault(summary);
  const add = (name, r, op, limit, shown) => {
    if (!r) return;
    out.push({ name, value: shown ?? showRatio(r, '×'), ...verdict(r, op, limit) });
  };
  const local = !meta || /DynamoDB Local/.test(meta.dynamodb ?? '');
  const where = local ? '' : ' (this run: not DynamoDB Local, no batching)';
  for (const w of ['noop', 'io100ms']) {
    add(
      `${w}: CPU/msg ${ours}/peer ≤ 0.6${where}`,
      ratioRange(summary, w, ours, 'peer', 'cpu_us_per_msg'),
      '<=',
      0.6,
    );
    add(
      `${w}: CPU/msg ${ours}/floor ≤ 0.6${where}`,
      ratioRange(summary, w, ours, 'floor', 'cpu_us_per_msg'),
      '<=',
      0.6,
    );
  }
  for (const [w, limit] of [
    ['noop', 1.3],
    ['latency-10', 1.5],
    ['latency-50', 1.5],
    ['latency-200', 1.5],
  ]) {
    const r = ratioRange(summary, w, ours, 'peer', 'throughput_msgs_per_s');
    add(`${w}: throughput ${ours}/peer ≥ ${limit}`, r, '>=', limit);
  }
  addRequests(summary, add, out);
  for (const [suffix, pass] of [
    ['', 'every system on Node defaults'],
    ['_same_flags', 'every system with the shared flag'],
  ]) {
    const items = summary
      .filter((r) => r.system === ours)
      .map((r) => ({
        w: r.workload,
        r: ratioRange(summary, r.workload, ours, 'peer', 'peak_rss_mb', suffix),
      }));
    const top = worst(items);
    if (top)
      add(
        `peak RSS ${ours} ≤ peer, ${pass} (worst workload)`,
        top.r,
        '<=',
        1,
        `${showRatio(top.r, '×')} (${top.w})`,
      );
  }
  addKeysOnce(summary, out);
  addExtras(out, produce, soak);
  return out;
}

/** DynamoDB requests per new message with batching, per duplicate, and SQS requests per message. */
function addRequests(summary, add, out) {
  const figure = (row, m) => ({ value: row[m], lo: row.range[m][0], hi: row.range[m][1], runs: row.runs });
  const shown = (r, w) =>
    `${r.value.toFixed(3)}${r.runs > 1 ? ` (${r.lo.toFixed(3)}–${r.hi.toFixed(3)})` : ''} (${w})`;
  const batched = summary.filter((r) => r.system === 'ours-batched' && r.workload !== 'dup20');
  const topDdb = worst(batched.map((row) => ({ w: row.workload, r: figure(row, 'ddb_requests_per_msg') })));
  if (topDdb) {
    add(
      'DynamoDB requests per new message, ours-batched ≤ 0.5 (worst workload)',
      topDdb.r,
      '<=',
      0.5,
      shown(topDdb.r, topDdb.w),
    );
  } else {
    out.push({
      name: 'DynamoDB requests per new message with batching ≤ 0.5',
      value: 'not measured: this build has no STORE_BATCHING',
      met: undefined,
      note: '',
    });
  }
  for (const system of ['ours-single', 'ours-batched']) {
    const noop = find(summary, 'noop', system);
    const dup = find(summary, 'dup20', system);
    if (!noop || !dup) continue;
    // 80 % new keys at the noop rate; the rest is what the 20 % duplicates cost.
    const perDup = (dup.ddb_requests_per_msg - 0.8 * noop.ddb_requests_per_msg) / 0.2;
    out.push({
      name: `DynamoDB requests per duplicate, ${system} ≤ 1`,
      value: perDup.toFixed(2),
      met: perDup <= 1.0001,
      note: '',
    });
  }
  const oursRows = summary.filter((r) => r.system.startsWith('ours'));
  const topSqs = worst(
    oursRows.map((row) => ({ w: `${row.workload}, ${row.system}`, r: figure(row, 'sqs_requests_per_msg') })),
  );
  if (topSqs)
    add(
      'SQS requests per message, ours ≤ 0.22 (worst cell)',
      topSqs.r,
      '<=',
      0.22,
      shown(topSqs.r, topSqs.w),
    );
}

/** Every key handled once by the idempotent systems, and every key handled by all, in every run. */
function addKeysOnce(summary, out) {
  const idem = summary.filter((r) => r.system === 'peer' || r.system.startsWith('ours'));
  if (idem.length === 0) return;
  const runs = idem.reduce((n, r) => n + r.runs + (r.runs_same_flags ?? 0), 0);
  const bad = idem.filter((r) => r.handler_runs_per_key_max !== 1 || !r.ok);
  out.push({
    name: 'every key once (peer, ours) in every run',
    value: bad.length ? `failed: ${bad.map((r) => `${r.workload} ${r.system}`).join(', ')}` : `${runs} runs`,
    met: bad.length === 0,
    note: '',
  });
}

function addExtras(out, produce, soak) {
  if (produce) {
    out.push({
      name: 'produce ≥ 5,000 msg/s (start-up excluded)',
      value: `${produce.msgs_per_s.toFixed(0)} msg/s (${produce.msgs_per_s_including_startup.toFixed(0)} with start-up)`,
      met: produce.msgs_per_s >= 5000,
      note: '',
    });
  }
  if (soak) {
    out.push({
      name: `soak RSS growth after warm-up < 10 % (${soak.messages} msgs)`,
      value: `${soak.rss_growth_pct.toFixed(1)} %`,
      met: soak.rss_growth_pct < 10,
      note: '',
    });
  } else {
    out.push({
      name: 'soak RSS growth after warm-up < 10 %',
      value: 'not run (npm run bench -- --soak)',
      met: undefined,
      note: '',
    });
  }
}
