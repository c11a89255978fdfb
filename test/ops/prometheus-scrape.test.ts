import { sample, startEmbeddedApp, type RunningApp } from '../helpers/app.js';
import { eventually } from '../helpers/process.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

describe('a real Prometheus scraping the running app', () => {
  let running: RunningApp;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    running = await startEmbeddedApp();
    prometheus = await startPrometheus(new URL(running.http).host, ['ops/prometheus/alerts.yml']);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await running?.app.stop();
  });

  const scalar = async (promql: string) => {
    const result = await prometheus.query(promql);
    return result.length === 1 ? Number(result[0]?.value[1]) : undefined;
  };

  it('scrapes it', async () => {
    expect(await eventually(async () => ((await scalar('up{job="sqs-worker"}')) === 1 ? 1 : undefined))).toBe(
      1,
    );
  });

  it('reads the processed count of seeded messages back through the query API', async () => {
    const res = await fetch(`${running.http}/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 10, duplicates: 3 }),
    });
    expect(res.status).toBe(202);
    const success = 'sum(sqs_worker_messages_processed_total{job="sqs-worker", outcome="success"})';
    const duplicate = 'sum(sqs_worker_messages_processed_total{job="sqs-worker", outcome="duplicate"})';
    expect(await eventually(async () => ((await scalar(success)) === 10 ? 10 : undefined), 30_000)).toBe(10);
    expect(await eventually(async () => ((await scalar(duplicate)) === 3 ? 3 : undefined), 30_000)).toBe(3);
    // What Prometheus holds is what the app says.
    expect(sample(await running.metrics(), 'sqs_worker_messages_processed_total', 'outcome="success"')).toBe(
      10,
    );
  });

  it('evaluates every alert rule against the app without errors, and none fires', async () => {
    const rules = await eventually(async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
        data: { groups: { rules: { name: string; health: string; lastError?: string; state: string }[] }[] };
      };
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.length === 7 && all.every((r) => r.health !== 'unknown') ? all : undefined;
    }, 30_000);
    expect(rules.map((r) => [r.name, r.health, r.lastError ?? ''])).toEqual(
      rules.map((r) => [r.name, 'ok', '']),
    );
    expect(rules.filter((r) => r.state !== 'inactive').map((r) => r.name)).toEqual([]);
  });
});
