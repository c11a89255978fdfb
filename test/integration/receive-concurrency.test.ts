import { createSqsClient } from '../../src/aws/clients.js';
import { fixture, runtime, send, useTestAws } from '../helpers/aws.js';
import { LatencyProxy } from '../helpers/latency-proxy.js';
import { eventually } from '../helpers/process.js';

/**
 * Several receives in flight against fauxqs, through the composition root (app.ts) and
 * sqs-consumer, with 60 ms added to every SQS request by a proxy: the proxy sees as many
 * ReceiveMessage calls under way at once as RECEIVE_CONCURRENCY allows, handlers never exceed
 * MAX_IN_FLIGHT, every message is handled once, and stop() leaves no receive under way. Only counts
 * are asserted, never elapsed time.
 */
describe('RECEIVE_CONCURRENCY on fauxqs behind a 60 ms proxy', () => {
  const aws = useTestAws();

  async function run(env: Record<string, string>, count: number) {
    const f = await fixture(aws);
    const keys = Array.from({ length: count }, (_, i) => `k${i}`);
    await send(
      aws,
      f.queueUrl,
      keys.map((key, i) => ({ body: `{"n":${i}}`, key })),
    );
    const proxy = await LatencyProxy.start(aws.emulators.sqsEndpoint, 60);
    const sqs = createSqsClient({ ...aws.settings, sqsEndpoint: proxy.url });
    const seen = new Map<string, number>();
    let running = 0;
    let peakRunning = 0;
    const worker = await runtime(
      aws,
      f,
      async (message) => {
        running += 1;
        peakRunning = Math.max(peakRunning, running);
        seen.set(message.key, (seen.get(message.key) ?? 0) + 1);
        await new Promise((resolve) => setImmediate(resolve));
        running -= 1;
      },
      { env, sqs },
    );
    await worker.start();
    await eventually(async () => (seen.size === count ? true : undefined), 60_000);
    await worker.stop(5000);
    // stop() aborted every long poll and waited for each: the proxy is left with none to answer.
    await eventually(async () => (proxy.underWay('ReceiveMessage') === 0 ? true : undefined));
    sqs.destroy();
    await proxy.close();
    return { seen, peakRunning, peakReceives: proxy.peak('ReceiveMessage') };
  }

  it('keeps up to RECEIVE_CONCURRENCY receives under way, within MAX_IN_FLIGHT, each message once', async () => {
    const result = await run({ MAX_IN_FLIGHT: '40', RECEIVE_CONCURRENCY: '4' }, 200);
    expect(result.peakReceives).toBeGreaterThan(1);
    expect(result.peakReceives).toBeLessThanOrEqual(4);
    expect(result.peakRunning).toBeLessThanOrEqual(40);
    expect([...result.seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('keeps one receive under way with RECEIVE_CONCURRENCY=1 (the ceiling the issue measured)', async () => {
    const result = await run({ MAX_IN_FLIGHT: '40', RECEIVE_CONCURRENCY: '1' }, 60);
    expect(result.peakReceives).toBe(1);
    expect(result.seen.size).toBe(60);
  });

  it('derives several receives from MAX_IN_FLIGHT when RECEIVE_CONCURRENCY is unset', async () => {
    const result = await run({ MAX_IN_FLIGHT: '30' }, 120);
    // ceil(30 / 10) = 3 loops.
    expect(result.peakReceives).toBeGreaterThan(1);
    expect(result.peakReceives).toBeLessThanOrEqual(3);
    expect(result.peakRunning).toBeLessThanOrEqual(30);
  });
});
