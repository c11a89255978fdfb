import { getEventListeners } from 'node:events';
import { jest } from '@jest/globals';
import { createSqsClient } from '../../src/aws/clients.js';
import { systemClock } from '../../src/core/clock.js';
import { Capacity } from '../../src/worker/capacity.js';
import { fixture, send, useTestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';
import { startHolding, testPoller } from '../helpers/sqs-poller.js';

/**
 * Several loops woken by one release of room: the first takes a whole batch, and the others go on
 * waiting for a whole batch (within fullBatchWaitMs) instead of taking the next slot that frees.
 * Room now comes back as completes are answered (Capacity.handOff), in chunks of any size, so a
 * loop that lost the race used to ask for 1 to 9 messages: 0.118 receives per message at
 * 50 in flight instead of 0.100. The monotonic clock is frozen: the wait never runs out here.
 */
const original = EventTarget.prototype.addEventListener;

describe('SqsConsumerPoller: a loop that lost the room to another waits for a whole batch', () => {
  const aws = useTestAws();

  it('leaves no abort listener behind per receive on its signals', async () => {
    const f = await fixture(aws);
    await send(
      aws,
      f.queueUrl,
      Array.from({ length: 60 }, (_, i) => ({ body: `{"n":${i}}`, key: `k${i}` })),
    );
    const signals = new Set<AbortSignal>();
    const add = jest.spyOn(EventTarget.prototype, 'addEventListener');
    add.mockImplementation(function (this: EventTarget, ...args) {
      if (this instanceof AbortSignal && !this.aborted) signals.add(this);
      original.apply(this, args);
    });
    const sqs = createSqsClient(aws.settings);
    const source = testPoller(sqs, f.queueUrl);
    const capacity = new Capacity(10);
    const held = startHolding(source, capacity);
    for (let round = 1; round <= 6; round += 1) {
      await eventually(async () => (held.length === round * 10 ? true : undefined));
      for (let i = 0; i < 10; i += 1) capacity.release();
    }
    const most = Math.max(...[...signals].map((s) => getEventListeners(s, 'abort').length));
    add.mockRestore();
    // Six receives: one listener each used to stay on the poller's signal.
    expect(most).toBeLessThanOrEqual(2);
    capacity.close();
    await source.stop();
    sqs.destroy();
  });

  it('asks for whole batches only, whichever loop wins each release', async () => {
    const f = await fixture(aws);
    await send(
      aws,
      f.queueUrl,
      Array.from({ length: 40 }, (_, i) => ({ body: `{"n":${i}}`, key: `k${i}` })),
    );
    const sqs = createSqsClient(aws.settings);
    const source = testPoller(sqs, f.queueUrl, {
      clock: { ...systemClock, monotonic: () => 0 },
      concurrency: 2,
    });
    const capacity = new Capacity(20);
    const sizes: number[] = [];
    startHolding(source, capacity, (messages) => sizes.push(messages.length));
    await eventually(async () => (capacity.inFlight === 20 ? true : undefined));
    // Both loops wait for room. Ten slots free at once: one loop takes them all.
    for (let i = 0; i < 10; i += 1) capacity.release();
    await eventually(async () => (capacity.inFlight === 20 && capacity.reserved === 0 ? true : undefined));
    // One more slot: the other loop does not take it, it waits for a whole batch.
    capacity.release();
    await eventually(async () => (capacity.inFlight === 19 ? true : undefined));
    await new Promise((resolve) => setImmediate(resolve));
    expect(capacity.reserved).toBe(0);
    for (let i = 0; i < 9; i += 1) capacity.release();
    await eventually(async () => (capacity.inFlight === 20 && sizes.length === 4 ? true : undefined));
    expect(sizes).toEqual([10, 10, 10, 10]);
    capacity.close();
    await source.stop();
    sqs.destroy();
  });
});
