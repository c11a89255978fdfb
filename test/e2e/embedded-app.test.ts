import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { eventually, runCli, type RunningProcess, EMBEDDED_ON_FREE_PORTS } from '../helpers/process.js';

/** Reads one sample of a Prometheus text exposition. */
function sample(metrics: string, name: string, labels: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('sqs-worker start, embedded mode (the real process)', () => {
  let app: RunningProcess;
  let http: string;
  let dynamodbEndpoint: string;

  beforeAll(async () => {
    app = runCli(['start'], {
      ...EMBEDDED_ON_FREE_PORTS,
      SQS_WAIT_TIME_SECONDS: '1',
      // Per-message outcome lines ('message duplicate') are at debug.
      LOG_LEVEL: 'debug',
    });
    const started = await app.waitForLine((l) => l.msg === 'worker started');
    http = started.http as string;
    dynamodbEndpoint = started.dynamodbEndpoint as string;
  });

  afterAll(async () => {
    if (app.child.exitCode === null) {
      app.child.kill('SIGKILL');
      await app.exit();
    }
  });

  it('says it runs in embedded mode and how to seed it', async () => {
    expect(app.lines.find((l) => l.msg === 'worker started')?.embedded).toBe(true);
    const hint = await app.waitForLine(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('embedded mode:'),
    );
    expect(hint.msg).toContain('/seed');
  });

  it('becomes ready', async () => {
    const ready = await eventually(async () => {
      const res = await fetch(`${http}/readyz`);
      return res.status === 200 ? ((await res.json()) as { status: string }) : undefined;
    });
    expect(ready.status).toBe('ok');
  });

  it('handles seeded messages once and skips the duplicates', async () => {
    const res = await fetch(`${http}/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 10, duplicates: 3 }),
    });
    expect(res.status).toBe(202);
    const seeded = (await res.json()) as { sent: number; unique: number; keys: string[] };
    expect(seeded).toMatchObject({ sent: 13, unique: 10 });
    expect(new Set(seeded.keys).size).toBe(10);

    const counts = await eventually(async () => {
      const text = await (await fetch(`${http}/metrics`)).text();
      const success = sample(text, 'sqs_worker_messages_processed_total', 'outcome="success"');
      const duplicate = sample(text, 'sqs_worker_messages_processed_total', 'outcome="duplicate"');
      return success === 10 && duplicate === 3 ? { success, duplicate } : undefined;
    });
    expect(counts).toEqual({ success: 10, duplicate: 3 });

    const dynamodb = new DynamoDBClient({
      endpoint: dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const scan = await dynamodb.send(
      new ScanCommand({ TableName: 'sqs-worker-idempotency', ConsistentRead: true }),
    );
    dynamodb.destroy();
    const records = (scan.Items ?? []).filter((i) => seeded.keys.some((k) => i.pk?.S === `sqs-worker#${k}`));
    expect(records).toHaveLength(10);
    expect(records.every((r) => r.status?.S === 'COMPLETED' && r.attempts?.N === '1')).toBe(true);

    const logged = app.lines.filter(
      (l) => l.msg === 'message duplicate' && seeded.keys.includes(l.key as string),
    );
    expect(logged).toHaveLength(3);
  });

  it('rejects a bad seed request with 400 naming the field', async () => {
    const res = await fetch(`${http}/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 0 }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe('count');
  });

  it('exits 0 on SIGTERM', async () => {
    app.child.kill('SIGTERM');
    const { code } = await app.exit();
    expect(code).toBe(0);
    expect(app.lines.some((l) => l.msg === 'stopped')).toBe(true);
  });
});

describe('sqs-worker start with a bad setting', () => {
  it('exits 2 with one line naming the variable and its rule', async () => {
    const app = runCli(['start'], { HTTP_PORT: 'eighty' });
    const { code } = await app.exit();
    expect(code).toBe(2);
    const lines = app.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('HTTP_PORT');
    expect(lines[0]).toContain('an integer from 0 to 65535');
  });
});
