/**
 * The bench's report logic (bench/report.mjs, bench/targets.mjs, bench/flags.mjs): plain JavaScript
 * run by `npm run bench`, checked here on hand-made rows, without running a benchmark.
 */

interface Row {
  workload: string;
  system: string;
  runs: number;
  range: Record<string, [number, number]>;
  [field: string]: unknown;
}
interface Ratio {
  value: number;
  lo: number;
  hi: number;
  runs: number;
}
interface Target {
  name: string;
  value: string;
  met: boolean | undefined;
  note: string;
}

const reportPath = '../../bench/report.mjs';
const targetsPath = '../../bench/targets.mjs';
const flagsPath = '../../bench/flags.mjs';
const workloadsPath = '../../bench/workloads.mjs';
const report = (await import(reportPath)) as { aggregate: (rows: object[]) => Row[] };
const t = (await import(targetsPath)) as {
  ratioRange: (s: Row[], w: string, a: string, b: string, m: string, suffix?: string) => Ratio | undefined;
  verdict: (r: Ratio, op: '<=' | '>=', limit: number) => { met: boolean; note: string };
  showRatio: (r: Ratio | undefined, unit?: string) => string;
  targets: (s: Row[], extra?: object) => Target[];
};
const flags = (await import(flagsPath)) as {
  nodeOptionsFor: (o: {
    ours: boolean;
    flagSet: string;
    scriptFlags: string[];
    scriptDefaults: string[];
  }) => string[];
  startScriptFlags: (root: string) => string[];
  v8Defaults: (flags: string[]) => string[];
};
const { WORKLOADS } = (await import(workloadsPath)) as {
  WORKLOADS: Record<string, { concurrency?: number; ddbDelayMs?: number; sqsDelayMs?: number }>;
};

/** One measured run as bench/run-one.mjs returns it (only the fields the report reads). */
function run(workload: string, system: string, flags: string, fields: Record<string, number> = {}) {
  return {
    workload,
    system,
    flags,
    messages: 100,
    ok: true,
    handler_runs_per_key_max: 1,
    throughput_msgs_per_s: 100,
    cpu_us_per_msg: 1000,
    p50_ms: 10,
    p99_ms: 20,
    peak_rss_mb: 100,
    ddb_requests_per_msg: 2,
    sqs_requests_per_msg: 0.2,
    duration_s: 16,
    ...fields,
  };
}

describe('bench report: aggregate', () => {
  it('takes the main figures from the Node-defaults pass and *_same_flags from the shared-flag pass', () => {
    const rows = report.aggregate([
      run('noop', 'peer', 'defaults', { peak_rss_mb: 150 }),
      run('noop', 'peer', 'defaults', { peak_rss_mb: 170 }),
      run('noop', 'peer', 'defaults', { peak_rss_mb: 160 }),
      run('noop', 'peer', 'shared', { peak_rss_mb: 120 }),
      run('noop', 'peer', 'shared', { peak_rss_mb: 140 }),
      run('noop', 'floor', 'defaults'),
    ]);
    const peer = rows.find((r) => r.system === 'peer');
    expect(peer).toMatchObject({ flags: 'defaults', runs: 3, peak_rss_mb: 160, runs_same_flags: 2 });
    expect(peer?.peak_rss_mb_same_flags).toBe(130);
    expect(peer?.range.peak_rss_mb).toEqual([150, 170]);
    expect(peer?.range.peak_rss_mb_same_flags).toEqual([120, 140]);
    const floor = rows.find((r) => r.system === 'floor');
    expect(floor?.peak_rss_mb_same_flags).toBeNull();
    expect(floor?.runs_same_flags).toBe(0);
  });

  it('a key run twice in either pass fails the row', () => {
    const rows = report.aggregate([
      run('noop', 'ours-single', 'defaults'),
      { ...run('noop', 'ours-single', 'shared'), handler_runs_per_key_max: 2, ok: false },
    ]);
    expect(rows[0]).toMatchObject({ ok: false, handler_runs_per_key_max: 2 });
  });
});

describe('bench report: ratios with ranges', () => {
  const rows = report.aggregate([
    run('noop', 'ours-batched', 'defaults', { cpu_us_per_msg: 500 }),
    run('noop', 'ours-batched', 'defaults', { cpu_us_per_msg: 600 }),
    run('noop', 'peer', 'defaults', { cpu_us_per_msg: 1000 }),
    run('noop', 'peer', 'defaults', { cpu_us_per_msg: 1100 }),
  ]);

  it('spans lowest over highest to highest over lowest', () => {
    const r = t.ratioRange(rows, 'noop', 'ours-batched', 'peer', 'cpu_us_per_msg');
    expect(r?.value).toBeCloseTo(550 / 1050);
    expect(r?.lo).toBeCloseTo(500 / 1100);
    expect(r?.hi).toBeCloseTo(600 / 1000);
    expect(t.showRatio(r)).toBe('0.52 (0.45–0.60)');
    expect(t.ratioRange(rows, 'noop', 'ours-batched', 'floor', 'cpu_us_per_msg')).toBeUndefined();
  });

  it('claims a target only when the whole range is on one side of the limit', () => {
    const r = { value: 0.55, lo: 0.45, hi: 0.7, runs: 3 };
    expect(t.verdict(r, '<=', 0.6)).toEqual({ met: true, note: expect.stringContaining('range too wide') });
    expect(t.verdict({ ...r, hi: 0.58 }, '<=', 0.6)).toEqual({ met: true, note: '' });
    expect(t.verdict({ value: 1.1, lo: 1.0, hi: 1.2, runs: 3 }, '>=', 1.5)).toEqual({ met: false, note: '' });
    expect(t.verdict({ value: 1.1, lo: 1.1, hi: 1.1, runs: 1 }, '>=', 1.5).note).toBe('one run: no range');
  });

  it('marks a ratio whose range spans 1', () => {
    expect(t.showRatio({ value: 0.97, lo: 0.9, hi: 1.05, runs: 3 })).toBe('0.97 (0.90–1.05) ≈');
    expect(t.showRatio({ value: 0.5, lo: 0.4, hi: 0.6, runs: 3 }, '×')).toBe('0.50× (0.40–0.60)');
  });
});

describe('bench report: targets', () => {
  it('judges ours at its defaults (batched when measured) and says when batching was not measured', () => {
    const single = report.aggregate([
      run('noop', 'peer', 'defaults'),
      run('noop', 'ours-single', 'defaults'),
    ]);
    const without = t.targets(single);
    expect(without.map((x) => x.name)).toContain('noop: CPU/msg ours-single/peer ≤ 0.6');
    expect(without.find((x) => x.name.startsWith('DynamoDB requests per new message'))).toMatchObject({
      met: undefined,
      value: expect.stringContaining('no STORE_BATCHING'),
    });

    const batched = report.aggregate([
      run('noop', 'peer', 'defaults'),
      run('noop', 'ours-batched', 'defaults', { ddb_requests_per_msg: 0.2, throughput_msgs_per_s: 140 }),
      run('latency-50', 'ours-batched', 'defaults', { ddb_requests_per_msg: 0.4 }),
    ]);
    const names = t.targets(batched);
    const ddb = names.find((x) => x.name.startsWith('DynamoDB requests per new message'));
    expect(ddb).toMatchObject({ met: true, value: expect.stringContaining('latency-50') });
    expect(names.find((x) => x.name === 'noop: throughput ours-batched/peer ≥ 1.3')?.met).toBe(true);
    expect(names.find((x) => x.name.startsWith('every key once'))?.met).toBe(true);
  });
});

describe('bench flags and workloads', () => {
  it("runs ours on V8's defaults by following its start script's flags with their defaults", () => {
    const scriptFlags = flags.startScriptFlags(process.cwd());
    expect(scriptFlags).toContain('--max-semi-space-size=16');
    const scriptDefaults = flags.v8Defaults(scriptFlags);
    expect(scriptDefaults).toContain('--max-semi-space-size=0');
    const set = { scriptFlags, scriptDefaults };
    expect(flags.nodeOptionsFor({ ours: true, flagSet: 'defaults', ...set })).toEqual(scriptDefaults);
    expect(flags.nodeOptionsFor({ ours: false, flagSet: 'defaults', ...set })).toEqual([]);
    expect(flags.nodeOptionsFor({ ours: true, flagSet: 'shared', ...set })).toEqual([]);
    expect(flags.nodeOptionsFor({ ours: false, flagSet: 'shared', ...set })).toEqual(scriptFlags);
  });

  it('has the latency family at concurrency 10, 50 and 200 with +5 ms DynamoDB and +15 ms SQS', () => {
    for (const n of [10, 50, 200]) {
      expect(WORKLOADS[`latency-${n}`]).toMatchObject({ concurrency: n, ddbDelayMs: 5, sqsDelayMs: 15 });
    }
  });
});
