import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { eventually, runCli, type RunningProcess, EMBEDDED_ON_FREE_PORTS } from '../helpers/process.js';

/**
 * `npm run test:clients`: real clients on SQS's query protocol against `sqs-worker start` in
 * embedded mode (fauxqs behind the query-protocol adapter): Debian 12's AWS CLI (awscli 2.9.19) and
 * Debian's python3-boto3 (botocore 1.29), by absolute path, since a newer `aws` or `python3` earlier
 * on PATH speaks the JSON protocol. Fails, never skips, when they are missing; CI installs them
 * (.ci/run). Each client's messages are handled by the worker (key from the IdempotencyKey
 * attribute, duplicates skipped), and each reads back what the other wrote on a queue of its own.
 */
const AWS_CLI = process.env.QUERY_AWS_CLI ?? '/usr/bin/aws';
const PYTHON = process.env.QUERY_PYTHON ?? '/usr/bin/python3';
const BOTO3_CLIENT = resolve('test/clients/boto3-client.py');

/** Dummy credentials and region, and nothing from this user's ~/.aws or Python site. */
const CLIENT_ENV = {
  PATH: '/usr/bin:/bin',
  HOME: tmpdir(),
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_PAGER: '',
  PYTHONNOUSERSITE: '1',
};

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], stdin?: string): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(command, args, { env: CLIENT_ENV, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      done({ code, stdout, stderr: stderr || (error?.message ?? '') });
    });
    child.stdin?.end(stdin ?? '');
  });
}

interface Boto3Result {
  protocol: string;
  botocore: string;
  sent: { messageId: string; md5Ok: boolean }[];
  received: {
    body: string;
    md5Ok: boolean;
    attributes: Record<string, string>;
    messageAttributes: Record<string, string | null>;
  }[];
  error: { exception: string; code: string } | null;
}

describe('real query-protocol clients against sqs-worker start (embedded mode)', () => {
  let app: RunningProcess;
  let endpoint: string;
  let queueUrl: string;
  let http: string;

  /** `aws sqs <args>` against the embedded SQS, its JSON output parsed. */
  async function aws(...args: string[]): Promise<Record<string, unknown>> {
    const answer = await run(AWS_CLI, ['sqs', ...args, '--endpoint-url', endpoint, '--output', 'json']);
    if (answer.code !== 0) throw new Error(`aws sqs ${args[0]} exited ${answer.code}: ${answer.stderr}`);
    return answer.stdout.trim() === '' ? {} : (JSON.parse(answer.stdout) as Record<string, unknown>);
  }

  async function boto3(request: object): Promise<Boto3Result> {
    const answer = await run(PYTHON, [BOTO3_CLIENT, endpoint], JSON.stringify(request));
    if (answer.code !== 0) throw new Error(`boto3 client exited ${answer.code}: ${answer.stderr}`);
    return JSON.parse(answer.stdout) as Boto3Result;
  }

  const handled = (key: string) =>
    app.waitForLine((l) => l.msg === 'handled message' && l.key === key, 60_000);

  beforeAll(async () => {
    app = runCli(['start'], {
      ...EMBEDDED_ON_FREE_PORTS,
      SQS_WAIT_TIME_SECONDS: '1',
      HANDLER: 'log',
      LOG_MESSAGE_BODIES: 'true',
      // Per-message outcome lines ('message duplicate') are at debug.
      LOG_LEVEL: 'debug',
    });
    const started = await app.waitForLine((l) => l.msg === 'worker started', 60_000);
    endpoint = started.sqsEndpoint as string;
    queueUrl = started.queueUrl as string;
    http = started.http as string;
  });

  afterAll(async () => {
    if (app.child.exitCode === null) {
      app.child.kill('SIGTERM');
      await app.exit();
    }
  });

  it("are Debian's clients on the query protocol", async () => {
    const version = await run(AWS_CLI, ['--version']);
    expect(version.stdout).toMatch(/^aws-cli\/2\.9\./);
    const debug = await run(AWS_CLI, ['sqs', 'list-queues', '--endpoint-url', endpoint, '--debug']);
    expect(debug.code).toBe(0);
    expect(debug.stderr).toContain("'body': {'Action': 'ListQueues'");
    const boto = await boto3({ queue_url: queueUrl });
    expect(boto.protocol).toBe('query');
    expect(boto.botocore).toMatch(/^1\.29\./);
  });

  it('the AWS CLI finds and describes the queue, and sends messages the worker handles once', async () => {
    expect(await aws('get-queue-url', '--queue-name', queueUrl.split('/').at(-1)!)).toEqual({
      QueueUrl: queueUrl,
    });
    expect((await aws('list-queues')).QueueUrls).toContain(queueUrl);
    const key = `cli-${randomUUID()}`;
    const body = 'from the AWS CLI: <tag> & "quotes" \t é 中文\r\nsecond line';
    const attributes = JSON.stringify({ IdempotencyKey: { DataType: 'String', StringValue: key } });
    // The second copy only once the first is handled: a copy that arrives while the first is in
    // flight is released for later (the key is claimed), which is slower and not what this shows.
    const send = () =>
      aws(
        'send-message',
        '--queue-url',
        queueUrl,
        '--message-body',
        body,
        '--message-attributes',
        attributes,
      );
    expect((await send()).MessageId).toEqual(expect.any(String));
    expect((await handled(key)).body).toBe(body);
    await send();
    await app.waitForLine((l) => l.msg === 'message duplicate' && l.key === key, 60_000);
    expect(app.lines.filter((l) => l.msg === 'handled message' && l.key === key)).toHaveLength(1);

    const counts = await eventually(async () => {
      const answer = await aws(
        'get-queue-attributes',
        '--queue-url',
        queueUrl,
        '--attribute-names',
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
      );
      const values = answer.Attributes as Record<string, string>;
      return values.ApproximateNumberOfMessages === '0' &&
        values.ApproximateNumberOfMessagesNotVisible === '0'
        ? values
        : undefined;
    }, 60_000);
    expect(counts).toBeDefined();
  });

  it("a boto3 producer of the seeds' shape sends JSON messages the worker handles once", async () => {
    const keys = [`boto-${randomUUID()}`, `boto-${randomUUID()}`];
    const message = (i: number) => ({
      body: JSON.stringify({ order: i, key: keys[i], note: 'a&b<c>' }),
      key: keys[i],
    });
    const result = await boto3({ queue_url: queueUrl, send: [message(0), message(1)] });
    expect(result.sent).toHaveLength(2);
    expect(result.sent.every((s) => s.md5Ok)).toBe(true);
    for (const [i, key] of keys.entries()) {
      expect((await handled(key)).body).toEqual({ order: i, key, note: 'a&b<c>' });
    }
    // Again, as a producer that retries would: the worker skips it as a duplicate.
    await boto3({ queue_url: queueUrl, send: [message(0)] });
    await app.waitForLine((l) => l.msg === 'message duplicate' && l.key === keys[0], 60_000);
    expect(app.lines.filter((l) => l.msg === 'handled message' && l.key === keys[0])).toHaveLength(1);
    const metrics = await (await fetch(`${http}/metrics`)).text();
    expect(metrics).toMatch(/sqs_worker_messages_processed_total\{outcome="duplicate"\} [1-9]/);
  });

  it('each client reads back, with attributes, what the other sent to a queue of its own', async () => {
    const created = await aws(
      'create-queue',
      '--queue-name',
      `clients-${randomUUID()}`,
      '--attributes',
      'VisibilityTimeout=30',
    );
    const ownQueue = created.QueueUrl as string;

    const fromCli = 'sent by the CLI: ]]> & <x/>\r\n';
    await aws(
      'send-message',
      '--queue-url',
      ownQueue,
      '--message-body',
      fromCli,
      '--message-attributes',
      JSON.stringify({ IdempotencyKey: { DataType: 'String', StringValue: 'cli-1' } }),
    );
    const read = await boto3({ queue_url: ownQueue, receive: 1 });
    expect(read.received).toEqual([
      {
        body: fromCli,
        md5Ok: true,
        attributes: expect.objectContaining({ ApproximateReceiveCount: '1' }),
        messageAttributes: { IdempotencyKey: 'cli-1' },
      },
    ]);

    const fromBoto = JSON.stringify({ sentBy: 'boto3', text: 'ü <&> \u2028' });
    await boto3({ queue_url: ownQueue, send: [{ body: fromBoto, key: 'boto-1' }] });
    const received = await aws(
      'receive-message',
      '--queue-url',
      ownQueue,
      '--message-attribute-names',
      'All',
      '--attribute-names',
      'All',
      '--wait-time-seconds',
      '1',
    );
    const [message] = received.Messages as {
      Body: string;
      ReceiptHandle: string;
      MessageAttributes: Record<string, { StringValue: string }>;
    }[];
    expect(message?.Body).toBe(fromBoto);
    expect(message?.MessageAttributes.IdempotencyKey?.StringValue).toBe('boto-1');
    await aws('delete-message', '--queue-url', ownQueue, '--receipt-handle', message!.ReceiptHandle);
    await aws('purge-queue', '--queue-url', ownQueue);
    const empty = await aws('receive-message', '--queue-url', ownQueue);
    expect(empty.Messages).toBeUndefined();
  });

  it('boto3 raises its own QueueDoesNotExist for a queue that does not exist', async () => {
    const result = await boto3({ queue_url: queueUrl, missing_queue: `missing-${randomUUID()}` });
    expect(result.error).toEqual({
      exception: 'QueueDoesNotExist',
      code: 'AWS.SimpleQueueService.NonExistentQueue',
    });
  });

  it('the AWS CLI gets SQS errors it understands', async () => {
    const missing = await run(AWS_CLI, [
      'sqs',
      'get-queue-url',
      '--queue-name',
      `missing-${randomUUID()}`,
      '--endpoint-url',
      endpoint,
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('AWS.SimpleQueueService.NonExistentQueue');
    const unsupported = await run(AWS_CLI, [
      'sqs',
      'delete-queue',
      '--queue-url',
      `${queueUrl}-not-this-one`,
      '--endpoint-url',
      endpoint,
    ]);
    expect(unsupported.code).not.toBe(0);
    expect(unsupported.stderr).toContain('InvalidAction');
    expect(unsupported.stderr).toContain('DeleteQueue');
  });
});
