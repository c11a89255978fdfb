import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { createTable } from '../../src/aws/table.js';
import { sample, startEmbeddedApp, type RunningApp } from '../helpers/app.js';
import { eventually } from '../helpers/process.js';

const TOKEN = 'integration-test-token-4f9c2a7e51';

interface Seeded {
  sent: number;
  unique: number;
  duplicates: number;
  keys: string[];
}

describe('the running app: metrics, records, readiness and logs', () => {
  let running: RunningApp;
  let sqs: SQSClient;
  let dynamodb: DynamoDBClient;
  const auth = { authorization: `Bearer ${TOKEN}` };

  const seed = async (body: unknown, headers: Record<string, string> = auth) =>
    fetch(`${running.http}/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  const metricReaches = (name: string, labels: string, atLeast: number) =>
    eventually(async () => {
      const value = sample(await running.metrics(), name, labels);
      return value !== undefined && value >= atLeast ? value : undefined;
    });

  beforeAll(async () => {
    running = await startEmbeddedApp({ SEED_TOKEN: TOKEN, QUEUE_METRICS_INTERVAL: '0.2' });
    const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
    const { sqsEndpoint, dynamodbEndpoint } = running.endpoints;
    if (sqsEndpoint === undefined || dynamodbEndpoint === undefined) throw new Error('no emulator endpoints');
    sqs = new SQSClient({ region: 'us-east-1', endpoint: sqsEndpoint, credentials });
    dynamodb = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamodbEndpoint, credentials });
  });

  afterAll(async () => {
    sqs.destroy();
    dynamodb.destroy();
    await running.app.stop();
  });

  it('is live and ready, and says so per check', async () => {
    const live = await fetch(`${running.http}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({
      status: 'ok',
      checks: { eventLoop: { ok: true }, consumer: { ok: true } },
    });
    const ready = await fetch(`${running.http}/readyz`);
    expect(await ready.json()).toEqual({
      status: 'ok',
      checks: { lifecycle: { ok: true }, table: { ok: true }, poll: { ok: true }, store: { ok: true } },
    });
  });

  it('refuses to seed without the token', async () => {
    expect((await seed({ count: 1 }, {})).status).toBe(401);
    expect((await seed({ count: 1 }, { authorization: `Bearer ${TOKEN}-wrong` })).status).toBe(401);
  });

  it('counts seeded messages by outcome, with the catalogue of the issue', async () => {
    const res = await seed({ count: 5, duplicates: 2 });
    expect(res.status).toBe(202);
    const seeded = (await res.json()) as Seeded;
    expect(seeded).toMatchObject({ sent: 7, unique: 5, duplicates: 2 });
    await metricReaches('sqs_worker_messages_processed_total', 'outcome="success"', 5);
    await metricReaches('sqs_worker_messages_processed_total', 'outcome="duplicate"', 2);
    const text = await running.metrics();
    expect(sample(text, 'sqs_worker_messages_received_total')).toBeGreaterThanOrEqual(7);
    expect(sample(text, 'sqs_worker_messages_processed_total', 'outcome="lease_lost"')).toBe(0);
    expect(
      sample(text, 'sqs_worker_handler_duration_seconds_count', 'outcome="success"'),
    ).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'sqs_worker_message_age_seconds_count')).toBeGreaterThanOrEqual(7);
    expect(sample(text, 'sqs_worker_receive_count_bucket', 'le="1"')).toBeGreaterThanOrEqual(7);
    expect(sample(text, 'sqs_worker_messages_in_flight')).toBe(0);
    expect(
      sample(
        text,
        'sqs_worker_idempotency_store_duration_seconds_count',
        'operation="claim",outcome="acquired"',
      ),
    ).toBeGreaterThanOrEqual(5);
    expect(
      sample(
        text,
        'sqs_worker_idempotency_store_duration_seconds_count',
        'operation="complete",outcome="ok"',
      ),
    ).toBeGreaterThanOrEqual(5);
    expect(
      sample(text, 'sqs_worker_sqs_requests_total', 'operation="ReceiveMessage",outcome="success"'),
    ).toBeGreaterThan(0);
    expect(
      sample(text, 'sqs_worker_sqs_requests_total', 'operation="SendMessageBatch",outcome="success"'),
    ).toBe(1);
    expect(sample(text, 'sqs_worker_last_poll_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(sample(text, 'sqs_worker_build_info', 'version="0.1.0"')).toBe(1);
    expect(sample(text, 'sqs_worker_poll_errors_total', 'reason="auth"')).toBe(0);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).not.toContain('nodejs_active_handles_total');
    // No label carries a message id, key or error text.
    for (const key of seeded.keys) expect(text).not.toContain(key);
  });

  it('seeds explicit messages and lists the records they made, page by page', async () => {
    const messages = [
      { body: { order: 1 }, key: 'explicit-order-1' },
      { body: { order: 2 }, key: 'explicit-order-2', attributes: { source: 'test' } },
      { body: { order: 1 }, key: 'explicit-order-1' },
    ];
    const res = await seed({ messages });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      sent: 3,
      unique: 2,
      duplicates: 1,
      keys: ['explicit-order-1', 'explicit-order-2'],
    });
    const done = await eventually(async () => {
      const page = (await (
        await fetch(`${running.http}/records?status=COMPLETED&limit=1000`, { headers: auth })
      ).json()) as { records: { key: string; status: string; pk: string }[] };
      const mine = page.records.filter((r) => r.key.startsWith('explicit-order-'));
      return mine.length === 2 ? mine : undefined;
    });
    expect(done.map((r) => r.pk).sort()).toEqual([
      'sqs-worker#explicit-order-1',
      'sqs-worker#explicit-order-2',
    ]);

    const first = (await (await fetch(`${running.http}/records?limit=2`, { headers: auth })).json()) as {
      records: unknown[];
      next: string | null;
    };
    expect(first.records).toHaveLength(2);
    expect(first.next).not.toBeNull();
    const second = await fetch(
      `${running.http}/records?limit=2&cursor=${encodeURIComponent(first.next ?? '')}`,
      {
        headers: auth,
      },
    );
    expect(second.status).toBe(200);
    expect((await fetch(`${running.http}/records`)).status).toBe(401);
  });

  it('reads the queue and dead-letter queue depths periodically', async () => {
    const dlqUrl = running.endpoints.dlqUrl ?? '';
    await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: 'poison' }));
    await metricReaches('sqs_worker_queue_messages', 'queue="dlq",state="visible"', 1);
    expect(
      sample(await running.metrics(), 'sqs_worker_queue_messages', 'queue="main",state="in_flight"'),
    ).toBeDefined();
  });

  it('turns unready while the table is missing, and ready again once it is back', async () => {
    const table = running.config.idempotency.table;
    await dynamodb.send(new DeleteTableCommand({ TableName: table }));
    expect((await seed({ count: 1 })).status).toBe(202);
    const unready = await eventually(async () => {
      const res = await fetch(`${running.http}/readyz`);
      return res.status === 503
        ? ((await res.json()) as { checks: Record<string, { detail?: string }> })
        : undefined;
    });
    expect(unready.checks.table?.detail).toContain('does not exist');
    expect((await fetch(`${running.http}/healthz`)).status).toBe(200);
    await createTable(dynamodb, table);
    await eventually(
      async () => ((await fetch(`${running.http}/readyz`)).status === 200 ? true : undefined),
      20_000,
    );
  });

  it('logs JSON lines, one per outcome (success and duplicate at debug), and never the seed token', async () => {
    await running.app.stop();
    const lines = running.log.lines();
    const outcome = lines.find((l) => l.msg === 'message success');
    expect(outcome).toMatchObject({ level: 'debug', outcome: 'success', receiveCount: 1 });
    expect(typeof outcome?.messageId).toBe('string');
    expect(typeof outcome?.key).toBe('string');
    expect(typeof outcome?.durationMs).toBe('number');
    expect(lines.some((l) => l.msg === 'message duplicate')).toBe(true);
    expect(running.log.text).not.toContain(TOKEN);
  });
});
