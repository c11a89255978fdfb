import type { RoomGate } from '../../src/core/message-source.js';
import { ROOM_CHECK_MS, reserveWholeBatch } from '../../src/core/whole-batch.js';
import { Capacity } from '../../src/worker/capacity.js';
import { ManualClock } from '../helpers/manual-clock.js';

/**
 * The wait of a receive for room for a whole batch (SQS_BATCH_SIZE), on the clock twin. With
 * several receive loops (RECEIVE_CONCURRENCY) and room coming back one message at a time (single
 * completes, each handing its room off), the loops that lose a whole batch to another must not
 * run out of waiting and ask for a part of one: each such receive is a request for less than ten
 * messages (0.255 SQS requests per message on io100ms with single writes, target 0.22).
 */
const FULL = 10;
const WAIT_MS = 100;

interface Run {
  readonly sizes: number[];
  stop(): Promise<void>;
}

/** What a poller's stop() gives reserveWholeBatch: the flag and the promise, and the switch. */
function stopSwitch() {
  let stopping = false;
  let resolve!: (n: number) => void;
  const stopped = new Promise<number>((r) => (resolve = r));
  return {
    stopping: () => stopping,
    stopped,
    stop: () => {
      stopping = true;
      resolve(0);
    },
  };
}

/** A capacity of `max`, every slot taken. */
function fullCapacity(max: number): Capacity {
  const capacity = new Capacity(max);
  capacity.take(max);
  return capacity;
}

/** One reservation of a whole batch on `capacity`, and the stop of its poller. */
function reserveOnce(clock: ManualClock, capacity: RoomGate) {
  const { stopping, stopped, stop } = stopSwitch();
  const result = reserveWholeBatch({ capacity, full: FULL, waitMs: WAIT_MS, clock, stopping, stopped });
  return { result, stop };
}

/** `loops` receive loops, each receiving at once what it reserved (as handleMessageBatch does). */
function startLoops(clock: ManualClock, capacity: Capacity, loops: number): Run {
  const { stopping, stopped, stop } = stopSwitch();
  const sizes: number[] = [];
  const loop = async () => {
    for (;;) {
      const n = await reserveWholeBatch({ capacity, full: FULL, waitMs: WAIT_MS, clock, stopping, stopped });
      if (n <= 0) return;
      capacity.unreserve(n);
      capacity.take(n);
      sizes.push(n);
    }
  };
  const running = Array.from({ length: loops }, loop);
  return {
    sizes,
    async stop() {
      stop();
      capacity.close();
      // A loop sleeping between two looks at the room wakes on the clock.
      await clock.advanceAsync(WAIT_MS);
      await Promise.all(running);
    },
  };
}

/** Gives one message's room back every `everyMs`, while there are messages in flight. */
function releaseSteadily(clock: ManualClock, capacity: Capacity, everyMs: number): void {
  const tick = () => {
    if (capacity.inFlight > 0) capacity.release();
    clock.setTimeout(tick, everyMs);
  };
  clock.setTimeout(tick, everyMs);
}

async function advanceBy(clock: ManualClock, ms: number): Promise<void> {
  for (let i = 0; i < ms; i += 1) await clock.advanceAsync(1);
}

describe('reserveWholeBatch: a receive waits for room for a whole batch', () => {
  it('five loops sharing room that comes back one message at a time all ask for whole batches', async () => {
    const clock = new ManualClock();
    const capacity = fullCapacity(50);
    const run = startLoops(clock, capacity, 5);
    // 10 slots every 25 ms: the fifth loop in line gets its batch 125 ms after the room it first
    // saw, longer than WAIT_MS, though it never had room for a whole batch to itself before.
    releaseSteadily(clock, capacity, 2.5);
    await advanceBy(clock, 2000);
    await run.stop();
    expect(run.sizes.length).toBeGreaterThanOrEqual(70);
    expect(run.sizes.filter((n) => n !== FULL)).toEqual([]);
  });

  it('asks for what fits once room has stayed short of a whole batch for WAIT_MS, not before', async () => {
    const clock = new ManualClock();
    const capacity = fullCapacity(13);
    const run = startLoops(clock, capacity, 1);
    for (let i = 0; i < 3; i += 1) capacity.release();
    await advanceBy(clock, WAIT_MS - 1);
    expect(run.sizes).toEqual([]);
    await advanceBy(clock, 1);
    expect(run.sizes).toEqual([3]);
    await run.stop();
  });

  it('asks for a whole batch at once when one is free; the loop that lost it waits for the next', async () => {
    const clock = new ManualClock();
    const capacity = fullCapacity(20);
    const run = startLoops(clock, capacity, 2);
    for (let i = 0; i < 10; i += 1) capacity.release();
    await clock.settle();
    expect(run.sizes).toEqual([10]);
    // The other loop was woken by the same release: it saw the room taken, and does not take the
    // next slot that frees.
    capacity.release();
    await advanceBy(clock, WAIT_MS / 2);
    expect(run.sizes).toEqual([10]);
    for (let i = 0; i < 9; i += 1) capacity.release();
    await advanceBy(clock, ROOM_CHECK_MS);
    expect(run.sizes).toEqual([10, 10]);
    await run.stop();
  });

  it('reserves nothing once stopped, and gives back a reservation that lands after the stop', async () => {
    const clock = new ManualClock();
    const capacity = fullCapacity(10);
    const reserves: number[] = [];
    const counting: RoomGate = {
      get room() {
        return capacity.room;
      },
      waitForRoom: () => capacity.waitForRoom(),
      reserve: async (full) => {
        reserves.push(full);
        return capacity.reserve(full);
      },
      unreserve: (count) => capacity.unreserve(count),
    };
    // Stopped while it waits for a whole batch: it does not reserve.
    capacity.release();
    const first = reserveOnce(clock, counting);
    await advanceBy(clock, WAIT_MS / 2);
    first.stop();
    await advanceBy(clock, ROOM_CHECK_MS);
    await expect(first.result).resolves.toBe(0);
    expect(reserves).toEqual([]);
    expect([capacity.reserved, capacity.room]).toEqual([0, 1]);

    // Stopped while its reservation waits for room (another took the slot, the wait ran out).
    const second = reserveOnce(clock, counting);
    await clock.settle();
    capacity.take(1);
    await advanceBy(clock, WAIT_MS + ROOM_CHECK_MS);
    expect(reserves).toEqual([FULL]);
    second.stop();
    await expect(second.result).resolves.toBe(0);
    // The reservation gets the room later: it is given back, not held by a stopped poller.
    for (let i = 0; i < 10; i += 1) capacity.release();
    await clock.settle();
    expect([capacity.reserved, capacity.room]).toEqual([0, 10]);
  });
});
