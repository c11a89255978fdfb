import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Gauge, Registry } from 'prom-client';
import { createSqsClient } from '../../src/aws/clients.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildServer } from '../../src/http/server.js';
import type { StatusSnapshot } from '../../src/http/status-data.js';
import { startQueueDepthPoller } from '../../src/observability/sqs-metrics.js';
import { fixture, useTestAws } from '../helpers/aws.js';
import { statusSetup, T0, testClock } from '../helpers/status-night.js';
import { useTcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The queue depths' age on the status page when SQS stops answering: the real poller reads fauxqs
 * through a TCP proxy that the test cuts; the poller and the page share a clock the test moves
 * (its timer is off: each read is `readNow()`), so nothing waits on the wall clock.
 */

const aws = useTestAws();
const proxy = useTcpProxy(() => aws.emulators.sqsEndpoint);

it('keeps the last depths with the time of the last good read, and marks them stale past 2 intervals', async () => {
  const f = await fixture(aws);
  await aws.sqs.send(new SendMessageCommand({ QueueUrl: f.queueUrl, MessageBody: '{}' }));
  const clock = testClock(T0);
  const sqs = createSqsClient({ ...aws.settings, sqsEndpoint: proxy.url });
  const intervalMs = 30_000;
  const gauge = new Gauge<'queue' | 'state'>({
    name: 'sqs_worker_queue_messages',
    help: 'h',
    labelNames: ['queue', 'state'],
    registers: [new Registry()],
  });
  // intervalMs 0 here: no timer; the test reads when it moves the clock.
  const poller = startQueueDepthPoller({
    sqs,
    queues: { main: f.queueUrl, dlq: f.dlqUrl },
    intervalMs: 0,
    gauge,
    logger: silentLogger,
    now: () => clock.now(),
  });
  const setup = statusSetup({
    clock,
    gauge,
    queueMetricsIntervalMs: intervalMs,
    depthReads: () => poller.reads(),
  });
  const server = buildServer(setup.deps);
  const status = async () => (await server.inject('/status.json')).json<StatusSnapshot>();
  try {
    await poller.readNow();
    let s = await status();
    expect(s.queues).toMatchObject({ lastReadAt: T0, stale: false, readError: null });
    expect(s.queues.main?.visible).toBe(1);

    await proxy.refuse();
    clock.ms += intervalMs;
    await poller.readNow(); // fails: SQS unreachable
    s = await status();
    expect(s.queues).toMatchObject({ lastReadAt: T0, stale: false });
    expect(s.queues.readError).toMatch(/ECONNREFUSED|connect/i);

    clock.ms += intervalMs + 1; // now 2 intervals and 1 ms after the last good read
    await poller.readNow();
    s = await status();
    expect(s.queues).toMatchObject({ lastReadAt: T0, stale: true });
    expect(s.queues.main?.visible).toBe(1); // the last values, kept
    expect(s.state).toBe('warning');

    await proxy.pass();
    await poller.readNow();
    s = await status();
    expect(s.queues).toMatchObject({ lastReadAt: clock.ms, stale: false, readError: null });
    expect(s.state).toBe('ok');
  } finally {
    await poller.stop();
    sqs.destroy();
  }
});
