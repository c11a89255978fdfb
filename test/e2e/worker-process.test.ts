import { resolve } from 'node:path';
import { fixture, queueCounts, send, useTestAws, type Fixture, type TestAws } from '../helpers/aws.js';
import { runCli, type RunningProcess } from '../helpers/process.js';

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
    // Per-message outcome lines ('message success') are at debug.
    LOG_LEVEL: 'debug',
    ...env,
  });
}

/**
 * A second daemon that takes over the queue, with a quick handler and a visibility timeout long
 * enough that its own delivery cannot lapse while it runs on a loaded machine.
 */
function successor(aws: TestAws, f: Fixture): RunningProcess {
  return daemon(aws, f, { SLOW_HANDLER_MS: '0', SQS_VISIBILITY_TIMEOUT: '30' });
}

/** The daemon's log line for a settled message of this key. */
const settled = (key: string) => (l: Record<string, unknown>) =>
  l.key === key && typeof l.msg === 'string' && l.msg.startsWith('message ');

describe('the daemon process under SIGKILL and SIGTERM', () => {
  const aws = useTestAws();
  const stoppers: (() => Promise<void>)[] = [];

  afterEach(async () => {
    await Promise.all(stoppers.splice(0).map((stop) => stop()));
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

    const b = track(successor(aws, f));
    const done = await b.waitForLine((l) => settled('crash')(l) && l.msg === 'message success');
    expect(done).toMatchObject({ attempt: 2, fence: 2 });
    // Promptly, without a stopwatch. The lease runs from the claim, a moment after the receive
    // started the visibility timeout: the first redelivery may come that moment too early and
    // is put back for exactly the rest of the lease. So at most one early delivery, then the
    // takeover; a lease outliving the visibility timeout would show as more of them.
    const deliveries = b.lines.filter(settled('crash'));
    const early = deliveries.slice(0, -1);
    expect(early.length).toBeLessThanOrEqual(1);
    expect(early.filter((l) => l.reason !== 'IN_PROGRESS_ELSEWHERE')).toEqual([]);
    expect(done.receiveCount).toBe(deliveries.length + 1);
    expect(b.lines.filter((l) => l.msg === 'slow handler started')).toEqual([
      expect.objectContaining({ attempt: 2, fence: 2 }),
    ]);
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

    // Put back once the long poll that SIGTERM aborted is surely over (SQS_WAIT_TIME_SECONDS=1 here:
    // an aborted poll can still be answered server-side), not held for the queue's 30 s visibility
    // timeout: the successor's wait for it (GUARD_MS, 25 s) is shorter than that. (fauxqs's
    // queue counts only see a lapsed visibility when something receives, so a receive tells.)
    const b = track(successor(aws, f));
    const event = await b.waitForLine(settled('cut-short'));
    expect(event).toMatchObject({ msg: 'message success', receiveCount: 2, attempt: 2 });
  });
});
