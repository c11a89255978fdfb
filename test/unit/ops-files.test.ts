import { readFileSync } from 'node:fs';
import { DROPPED_DEFAULT_METRICS, OUTCOMES, createMetrics } from '../../src/observability/metrics.js';

/** Every series name /metrics can carry: histograms expand to _bucket, _sum and _count. */
async function exportedNames(): Promise<Set<string>> {
  const metrics = createMetrics('test');
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram' || String(metric.type) === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    }
  }
  return names;
}

/** Names of the worker's and Node's metrics mentioned in a text (PromQL, YAML, JSON). */
function referencedNames(text: string): Set<string> {
  return new Set(text.match(/\b(?:sqs_worker|process|nodejs)_[a-z0-9_]+\b/g) ?? []);
}

/** Every PromQL expression of a Grafana dashboard: panel targets and templating queries. */
function dashboardExpressions(dashboard: unknown): string[] {
  const out: string[] = [];
  const visit = (node: unknown, key?: string) => {
    if (typeof node === 'string' && (key === 'expr' || key === 'definition' || key === 'query'))
      out.push(node);
    else if (Array.isArray(node)) node.forEach((item) => visit(item));
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) visit(v, k);
    }
  };
  visit(dashboard);
  return out;
}

const DASHBOARD = 'ops/grafana/sqs-worker-dashboard.json';
const RULES = ['ops/prometheus/alerts.yml', 'ops/prometheus/alerts.test.yml'];

describe('ops files reference only metrics the app exports', () => {
  it('the dashboard', async () => {
    const exported = await exportedNames();
    const expressions = dashboardExpressions(JSON.parse(readFileSync(DASHBOARD, 'utf8')));
    expect(expressions.length).toBeGreaterThan(15);
    const referenced = referencedNames(expressions.join('\n'));
    expect([...referenced].filter((name) => !exported.has(name))).toEqual([]);
    // What the issue asks the dashboard to show.
    for (const name of [
      'sqs_worker_messages_processed_total',
      'sqs_worker_handler_duration_seconds_bucket',
      'sqs_worker_messages_in_flight',
      'sqs_worker_queue_messages',
      'sqs_worker_message_age_seconds_bucket',
    ]) {
      expect(referenced).toContain(name);
    }
  });

  it.each(RULES)('%s', async (file) => {
    const exported = await exportedNames();
    const referenced = referencedNames(readFileSync(file, 'utf8'));
    expect(referenced.size).toBeGreaterThan(3);
    expect([...referenced].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('outcome, queue and state values in the ops files are ones the app uses', () => {
    const text = [DASHBOARD, ...RULES].map((file) => readFileSync(file, 'utf8')).join('\n');
    const values = (label: string) =>
      [...text.matchAll(new RegExp(`${label}\\s*(?:=~?|!~)\\s*\\\\?"([^"\\\\]+)\\\\?"`, 'g'))].flatMap((m) =>
        (m[1] ?? '').split('|'),
      );
    expect(values('outcome').filter((v) => !(OUTCOMES as readonly string[]).includes(v))).toEqual([]);
    expect(values('queue').filter((v) => !['main', 'dlq'].includes(v))).toEqual([]);
    expect(values('state').filter((v) => !['visible', 'in_flight', 'delayed'].includes(v))).toEqual([]);
    expect(values('outcome').length).toBeGreaterThan(3);
  });
});

describe('default process metrics', () => {
  it('leave out the gauges promtool rejects and keep the rest', async () => {
    const exported = await exportedNames();
    for (const name of DROPPED_DEFAULT_METRICS) expect(exported).not.toContain(name);
    expect(exported).toContain('process_cpu_seconds_total');
    expect(exported).toContain('nodejs_active_handles');
    expect(exported).toContain('nodejs_eventloop_lag_p99_seconds');
  });
});
