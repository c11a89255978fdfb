import { createSqsClient } from '../../src/aws/clients.js';
import { systemClock } from '../../src/core/clock.js';
import { Capacity } from '../../src/worker/capacity.js';
import { fixture, send, useTestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';
import { startHolding, testPoller } from '../helpers/sqs-poller.js';

/**
 * The poller's wait for room for a whole batch (fullBatchWaitMs) is an interval: it is measured
 * on the injected clock's monotonic time, not on Date.now(), whose steps (NTP, an operator) would
 * stretch or cut it. Here the monotonic clock jumps past a wait that wall time never reaches.
 */
describe('SqsConsumerPoller: its waits on the monotonic clock', () => {
  const aws = useTestAws();

  it('ends the wait for a full batch when the monotonic clock says so', async () => {
    const f = await fixture(aws);
    await send(
      aws,
      f.queueUrl,
      Array.from({ length: 20 }, (_, i) => ({ body: `{"n":${i}}`, key: `k${i}` })),
    );
    let jumpedMs = 0;
    const sqs = createSqsClient(aws.settings);
    const source = testPoller(sqs, f.queueUrl, {
      clock: { ...systemClock, monotonic: () => performance.now() + jumpedMs },
      fullBatchWaitMs: 600_000,
    });
    // Room for 15: after the first 10, the poller waits (up to fullBatchWaitMs) for room for 10.
    const capacity = new Capacity(15);
    const held = startHolding(source, capacity);
    await eventually(async () => (held.length === 10 ? true : undefined));
    jumpedMs = 600_001;
    // The wait is over: the next receive asks for the 5 that fit.
    await eventually(async () => (held.length === 15 ? true : undefined));
    expect(capacity.inFlight).toBe(15);
    capacity.close();
    await source.stop();
    sqs.destroy();
  });
});
