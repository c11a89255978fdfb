import type { Clock } from './clock.js';
import type { RoomGate } from './message-source.js';

/** How often the room is looked at while a receive waits for a whole batch (see reserveWholeBatch). */
export const ROOM_CHECK_MS = 5;

export interface WholeBatchOptions {
  readonly capacity: RoomGate;
  /** SQS_BATCH_SIZE: a whole batch. */
  readonly full: number;
  /** How long a receive waits for room for a whole batch once some room is free. */
  readonly waitMs: number;
  readonly clock: Pick<Clock, 'monotonic' | 'sleep'>;
  /** True once the poller stops: the wait ends and nothing is reserved. */
  readonly stopping: () => boolean;
  /** Resolves with 0 when the poller stops (raced against every wait). */
  readonly stopped: Promise<number>;
}

/**
 * Reserves the room for one receive: a whole batch, waited for at most `waitMs` once some room is
 * free; then whatever fits. Resolves with the count reserved, or 0 once the capacity is closed or
 * the poller stopped (nothing is then held).
 */
export async function reserveWholeBatch(o: WholeBatchOptions): Promise<number> {
  const { capacity, full, clock } = o;
  await Promise.race([capacity.waitForRoom(), o.stopped]);
  // Read now, not the room waitForRoom saw: another loop woken by the same release may have taken
  // it meanwhile (0 once the capacity is closed; a stop ends the wait below).
  let room = capacity.room;
  // An interval: on the monotonic clock, which no step of the wall clock stretches or cuts.
  let until = clock.monotonic() + o.waitMs;
  // Room another loop took (0 now) is waited for too: a receive asks for less than a whole
  // batch only once the wait is over.
  while (room < full && !o.stopping() && clock.monotonic() < until) {
    await clock.sleep(Math.min(ROOM_CHECK_MS, o.waitMs));
    const now = capacity.room;
    // Less room than before: another loop reserved it. This loop's wait starts again, so each of
    // the loops in line behind whole batches gets its own wait: with room coming back a message
    // at a time, the fifth of five loops would otherwise run out of waiting and ask for a part.
    if (now < room) until = clock.monotonic() + o.waitMs;
    room = now;
  }
  if (o.stopping()) return 0;
  const reserving = capacity.reserve(full);
  const reserved = await Promise.race([reserving, o.stopped]);
  if (!o.stopping()) return reserved;
  // Stopped meanwhile: whatever the reservation gets (now or later) is given back.
  void reserving.then((count) => capacity.unreserve(count));
  return 0;
}
