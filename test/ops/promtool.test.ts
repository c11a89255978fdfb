import { Registry, collectDefaultMetrics } from 'prom-client';
import { PermanentError } from '../../src/core/errors.js';
import type { Handler } from '../../src/core/handler.js';
import { sample, startEmbeddedApp, type RunningApp } from '../helpers/app.js';
import { eventually } from '../helpers/process.js';
import { promtool, requireTool } from '../helpers/prometheus.js';

describe('promtool', () => {
  beforeAll(() => {
    requireTool('promtool');
  });

  it('accepts the alert rules', () => {
    const result = promtool(['check', 'rules', 'ops/prometheus/alerts.yml']);
    expect(result.output).toContain('SUCCESS: 7 rules found');
    expect(result.status).toBe(0);
  });

  it('passes the unit tests of every alert', () => {
    const result = promtool(['test', 'rules', 'ops/prometheus/alerts.test.yml']);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('accepts the Prometheus configuration and the rule files it names', () => {
    const result = promtool(['check', 'config', 'ops/prometheus/prometheus.yml']);
    expect(result.output).toContain('SUCCESS: 7 rules found');
    expect(result.status).toBe(0);
  });

  it('rejects what prom-client exports by default (so the check below is a real one)', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const result = promtool(['check', 'metrics'], await registry.metrics());
    expect(result.output).toContain(
      'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
    );
    expect(result.status).not.toBe(0);
  });
});

describe('promtool check metrics on /metrics of a running app', () => {
  let running: RunningApp;

  beforeAll(async () => {
    requireTool('promtool');
    // Some messages fail for good, so that every kind of series has samples.
    const handler: Handler = async (message) => {
      if ((message.body as { fail?: boolean }).fail) throw new PermanentError('refused');
      return { ok: true };
    };
    running = await startEmbeddedApp({ QUEUE_METRICS_INTERVAL: '0.2' }, { handler });
  });

  afterAll(async () => {
    await running?.app.stop();
  });

  it('passes, with every metric of the catalogue present', async () => {
    const post = (body: unknown) =>
      fetch(`${running.http}/seed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ count: 5, duplicates: 2 })).status).toBe(202);
    expect((await post({ messages: [{ body: { fail: true }, key: 'bad-1' }] })).status).toBe(202);
    const text = await eventually(async () => {
      const metrics = await running.metrics();
      const ok = sample(metrics, 'sqs_worker_messages_processed_total', 'outcome="success"') === 5;
      const dead = sample(metrics, 'sqs_worker_messages_processed_total', 'outcome="dead_lettered"') === 1;
      const depth = sample(metrics, 'sqs_worker_queue_messages', 'queue="dlq",state="visible"') !== undefined;
      return ok && dead && depth ? metrics : undefined;
    });
    for (const name of [
      'sqs_worker_messages_received_total',
      'sqs_worker_messages_processed_total',
      'sqs_worker_handler_duration_seconds',
      'sqs_worker_messages_in_flight',
      'sqs_worker_message_age_seconds',
      'sqs_worker_receive_count',
      'sqs_worker_idempotency_store_duration_seconds',
      'sqs_worker_sqs_requests_total',
      'sqs_worker_poll_errors_total',
      'sqs_worker_last_poll_timestamp_seconds',
      'sqs_worker_queue_messages',
      'sqs_worker_build_info',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    const result = promtool(['check', 'metrics'], text);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });
});
