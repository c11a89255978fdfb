import { resolve } from 'node:path';
import type { WorkerRuntime, MessageEvent } from '../../src/worker/runtime.js';
import {
  fixture,
  queueCounts,
  runtime,
  send,
  startTestAws,
  type Fixture,
  type TestAws,
} from '../helpers/aws.js';
import { eventually, runCli, type RunningProcess } from '../helpers/process.js';

/** The daemon as a real process, consuming a queue of the test's emulators with a slow handler. */
function daemon(aws: TestAws, f: Fixture, env: Record<string, string>): RunningProcess {
  return runCli(['start'], {
    SQS_QUEUE_URL: f.queueUrl,
    AWS_ENDPOINT_URL_SQS: aws.settings.sqsEndpoint as string,
    AWS_ENDPOINT_URL_DYNAMODB: aws.settings.dynamodbEndpoint as string,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    IDEMPOTENCY_TABLE: f.table,
    IDEMPOTENCY_NAMESPACE: f.name,
    HANDLER: resolve('test/fixtures/slow-handler.mjs'),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    SQS_WAIT_TIME_SECONDS: '1',
    LOG_LEVEL: 'info',
    ...env,
  });
}

/** A second worker in this process, to see where the message goes next. */
function successor(aws: TestAws, f: Fixture, visibility: number) {
  const events: MessageEvent[] = [];
  const worker: WorkerRuntime = runtime(aws, f, () => {}, {
    instanceId: 'successor',
    visibilityTimeoutSeconds: visibility,
  });
  worker.on('message_settled', (e) => events.push(e));
  return { worker, first: () => eventually(async () => events[0], 15_000, 20) };
}

describe('the daemon process under SIGKILL and SIGTERM', () => {
  let aws: TestAws;
  const stoppers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    aws = await startTestAws();
  });

  afterEach(async () => {
    await Promise.all(stoppers.splice(0).map((stop) => stop()));
  });

  afterAll(async () => {
    await aws.close();
  });

  function track(p: RunningProcess): RunningProcess {
    stoppers.push(async () => {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exit();
      }
    });
    return p;
  }

  it('a message whose worker is killed mid-handler is taken over once visibility and lease lapse', async () => {
    const f = await fixture(aws, { visibility: 2 });
    const a = track(daemon(aws, f, { SLOW_HANDLER_MS: '60000', SQS_VISIBILITY_TIMEOUT: '2' }));
    await send(aws, f.queueUrl, [{ body: '{"job":1}', key: 'crash' }]);
    await a.waitForLine((l) => l.msg === 'slow handler started');
    a.child.kill('SIGKILL');
    await a.exit();
    const killedAt = Date.now();

    const next = successor(aws, f, 2);
    stoppers.push(() => next.worker.stop(0));
    await next.worker.start();
    const event = await next.first();
    expect(event.processed.outcome).toBe('success');
    expect(event.message.receiveCount).toBe(2);
    expect(event.processed.claim).toMatchObject({ attempt: 2, fence: 2 });
    // Promptly: one visibility timeout (2 s) plus a poll, not minutes.
    expect(Date.now() - killedAt).toBeLessThan(10_000);
  });

  it('SIGTERM lets a running handler finish within SHUTDOWN_TIMEOUT, then exits 0', async () => {
    const f = await fixture(aws);
    const a = track(daemon(aws, f, { SLOW_HANDLER_MS: '1500', SHUTDOWN_TIMEOUT: '10' }));
    await send(aws, f.queueUrl, [{ body: '{"job":2}', key: 'drain' }]);
    await a.waitForLine((l) => l.msg === 'slow handler started');
    a.child.kill('SIGTERM');
    expect((await a.exit()).code).toBe(0);
    expect(a.lines.some((l) => l.msg === 'message success' && l.key === 'drain')).toBe(true);
    expect(await queueCounts(aws, f.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('SIGTERM past SHUTDOWN_TIMEOUT aborts the handler and puts the message back at once', async () => {
    const f = await fixture(aws);
    const a = track(daemon(aws, f, { SLOW_HANDLER_MS: '60000', SHUTDOWN_TIMEOUT: '0.5' }));
    await send(aws, f.queueUrl, [{ body: '{"job":3}', key: 'cut-short' }]);
    await a.waitForLine((l) => l.msg === 'slow handler started');
    a.child.kill('SIGTERM');
    expect((await a.exit()).code).toBe(0);
    expect(a.lines.some((l) => l.msg === 'message retry' && l.reason === 'ABORTED')).toBe(true);

    const next = successor(aws, f, 30);
    stoppers.push(() => next.worker.stop(0));
    const startedAt = Date.now();
    await next.worker.start();
    const event = await next.first();
    expect(event.processed.outcome).toBe('success');
    expect(event.processed.claim?.attempt).toBe(2);
    expect(Date.now() - startedAt).toBeLessThan(5_000); // not the 30 s visibility timeout
  });
});
