import type { StatusSnapshot } from '../../src/http/status-data.js';
import { sample, startEmbeddedApp, type RunningApp } from '../helpers/app.js';
import { eventually } from '../helpers/process.js';

/**
 * The status page's wiring in the whole app (embedded emulators): the recorder is fed by the
 * runtime, the queue depth comes from the gauge the poller sets, and the numbers agree with
 * /metrics. The page in a real browser: test/browser (npm run test:browser).
 */
describe('status page on the embedded app', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startEmbeddedApp({ QUEUE_METRICS_INTERVAL: '1', MAX_IN_FLIGHT: '7' });
  });

  afterAll(async () => {
    await running?.app.stop();
  });

  const status = async () => (await fetch(`${running.http}/status.json`)).json() as Promise<StatusSnapshot>;

  it('shows what the worker did, as the metrics count it', async () => {
    const seeded = await fetch(`${running.http}/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 5, duplicates: 2 }),
    });
    const { keys } = (await seeded.json()) as { keys: string[] };
    const done = await eventually(async () => {
      const s = await status();
      return s.totals.success === 5 && s.totals.duplicate === 2 ? s : undefined;
    });
    expect(done.maxInFlight).toBe(7);
    expect(done.embedded).toBe(true);
    expect(done.readiness.ok).toBe(true);
    expect(new Set(done.recent?.map((r) => r.key))).toEqual(new Set(keys));
    expect(done.recent?.filter((r) => r.outcome === 'duplicate')).toHaveLength(2);
    expect(
      done.outcomes.reduce((n, o) => n + (done.perSecond.counts[o] ?? []).reduce((a, b) => a + b, 0), 0),
    ).toBe(7);
    const metrics = await running.metrics();
    expect(sample(metrics, 'sqs_worker_messages_processed_total', 'outcome="success"')).toBe(5);
    expect(sample(metrics, 'sqs_worker_messages_processed_total', 'outcome="duplicate"')).toBe(2);
  });

  it('reads queue depth from the gauge the poller sets', async () => {
    const depth = await eventually(async () => {
      const { queues } = await status();
      return queues.main !== null && queues.dlq !== null ? queues : undefined;
    });
    expect(depth.intervalSeconds).toBe(1);
    expect(depth.main).toEqual({ visible: expect.any(Number), in_flight: expect.any(Number), delayed: 0 });
    const metrics = await running.metrics();
    expect(sample(metrics, 'sqs_worker_queue_messages', 'queue="dlq",state="visible"')).toBe(
      depth.dlq?.visible,
    );
  });

  it('serves the page with the keys to a loopback client', async () => {
    const res = await fetch(`${running.http}/`);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<h2 id="h-recent">Recently settled messages</h2>');
    expect(page).toMatch(/<td class="key">seed-[0-9a-f]{8}-\d+<\/td>/);
    expect(page).toContain('<form method="post" action="/status/seed">');
  });
});
