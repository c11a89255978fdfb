/**
 * Per-lane ordering. A lane is a key (standard queues: a second delivery of a key waits for the
 * first) or a message group (FIFO: a group is handled strictly in order, one at a time). Lanes run
 * in parallel with each other.
 */
export class Lanes {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `task` once every earlier task of `lane` has settled. */
  run<T>(lane: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(lane) ?? Promise.resolve();
    const current = previous.then(task, task);
    this.#tails.set(lane, current);
    const cleanup = () => {
      if (this.#tails.get(lane) === current) this.#tails.delete(lane);
    };
    current.then(cleanup, cleanup);
    return current;
  }

  get size(): number {
    return this.#tails.size;
  }
}

/**
 * Schedules one receive's messages on their lanes. `run(item, blocked)` handles an item and says
 * whether the lane may go on; once it says no, the lane's later items of this same batch are run
 * with blocked = true (the caller releases them untouched, so they come back behind the failed one).
 */
export function scheduleBatch<T>(
  lanes: Lanes,
  items: readonly T[],
  laneOf: (item: T) => string,
  run: (item: T, blocked: boolean) => Promise<boolean>,
): Promise<void>[] {
  const stopped = new Set<string>();
  return items.map((item) => {
    const lane = laneOf(item);
    return lanes.run(lane, async () => {
      const goOn = await run(item, stopped.has(lane));
      if (!goOn) stopped.add(lane);
    });
  });
}
