import { jest } from '@jest/globals';
import { PermanentError, StoreUnavailableError } from '../../src/core/errors.js';
import { Capacity } from '../../src/worker/capacity.js';
import { Faults } from '../helpers/faults.js';
import { gate, twin, until, worker, world, type Twin } from '../helpers/runtime-twin.js';

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('Capacity.handOff', () => {
  it('gives a handled message room back at once, and bounds the settling on their own', () => {
    const capacity = new Capacity(2, Number.POSITIVE_INFINITY, 1);
    capacity.take(2);
    expect(capacity.room).toBe(0);
    expect(capacity.handOff()).toBe(true);
    expect([capacity.inFlight, capacity.settling, capacity.room]).toEqual([1, 1, 1]);
    // The bound of settling messages is reached: the next one keeps its room until settled.
    expect(capacity.handOff()).toBe(false);
    expect([capacity.inFlight, capacity.settling, capacity.room]).toEqual([1, 1, 1]);
    capacity.release(true);
    capacity.release(false);
    expect([capacity.inFlight, capacity.settling, capacity.room]).toEqual([0, 0, 2]);
  });

  it('bounds the settling at twice MAX_IN_FLIGHT by default', () => {
    const capacity = new Capacity(2);
    capacity.take(2);
    expect([capacity.handOff(), capacity.handOff()]).toEqual([true, true]);
    capacity.take(2);
    expect([capacity.handOff(), capacity.handOff()]).toEqual([true, true]);
    capacity.take(2);
    expect(capacity.handOff()).toBe(false);
    expect([capacity.inFlight, capacity.settling, capacity.room]).toEqual([2, 4, 0]);
  });

  it('wakes a receive waiting for room', async () => {
    const capacity = new Capacity(1);
    capacity.take(1);
    let room: number | undefined;
    void capacity.waitForRoom().then((r) => (room = r));
    await Promise.resolve();
    expect(room).toBeUndefined();
    capacity.handOff();
    await Promise.resolve();
    await Promise.resolve();
    expect(room).toBe(1);
  });
});

describe('WorkerRuntime: a completed message waiting for its delete holds no room (fake timers)', () => {
  it('receives and handles the next batch while the deletes of the first are under way', async () => {
    const runs = new Map<string, number>();
    const t = twin((m) => void runs.set(m.key, (runs.get(m.key) ?? 0) + 1), { maxInFlight: 10 });
    const deletes = gate();
    t.queue.intercept('delete', () => deletes.promise);
    await t.send(Array.from({ length: 40 }, (_, i) => ({ key: `k${i}` })));
    await t.runtime.start();
    // Ten handled, their deletes hang: their room goes to the next ten, and theirs to the ten after.
    // Those keep their room (at most twice MAX_IN_FLIGHT settle at once): no fourth receive starts.
    await until(() => runs.size === 30, 'thirty handled');
    await jest.advanceTimersByTimeAsync(5000);
    expect(runs.size).toBe(30);
    expect(t.settled).toHaveLength(0);
    expect(t.runtime.inFlight).toBe(10);
    deletes.open();
    await until(() => t.settled.length === 40, 'all settled');
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(t.queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await t.runtime.stop(1000);
  });

  /**
   * Two of three messages fail with `failure` (MAX_IN_FLIGHT 2) and their settling call (`hold`
   * intercepts it) hangs until a gate opens: the third is not received, for their room is kept.
   */
  async function roomKeptWhileSettling(
    failure: () => Error,
    hold: (t: Twin, until: () => Promise<void>) => void,
  ) {
    let handled = 0;
    const t = twin(
      () => {
        handled += 1;
        throw failure();
      },
      { maxInFlight: 2 },
    );
    const settling = gate();
    hold(t, () => settling.promise);
    await t.send([{ key: 'a' }, { key: 'b' }, { key: 'c' }]);
    await t.runtime.start();
    await until(() => handled === 2, 'two handled');
    await jest.advanceTimersByTimeAsync(5000);
    expect(handled).toBe(2);
    expect(t.runtime.inFlight).toBe(2);
    settling.open();
    await until(() => handled >= 3, 'the third handled');
    return t;
  }

  it('keeps the room of a message being released until its visibility change ends', async () => {
    const t = await roomKeptWhileSettling(
      () => new Error('try again'),
      (t, hang) => t.queue.intercept('changeVisibility', hang),
    );
    await until(() => t.settled.length >= 2, 'the first two released');
    expect(t.outcomes().slice(0, 2)).toEqual(['retry', 'retry']);
    await t.runtime.stop(1000);
  });

  it('keeps the room of a message being dead-lettered until its copy and delete end', async () => {
    const t = await roomKeptWhileSettling(
      () => new PermanentError('never'),
      (t, hang) => t.dlq.intercept('send', hang),
    );
    await until(() => t.settled.length === 3, 'all dead-lettered');
    expect(t.outcomes()).toEqual(['dead_lettered', 'dead_lettered', 'dead_lettered']);
    await t.runtime.stop(1000);
  });

  it('waits at stop for the deletes of handed-off messages', async () => {
    const t = twin(() => {}, { maxInFlight: 10 });
    const deletes = gate();
    t.queue.intercept('delete', () => deletes.promise);
    await t.send(Array.from({ length: 5 }, (_, i) => ({ key: `k${i}` })));
    await t.runtime.start();
    await until(() => t.runtime.inFlight === 0 && t.queue.calls.delete === 5, 'five deletes under way');
    let stopped = false;
    const stopping = t.runtime.stop(10_000).then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(1000);
    expect(stopped).toBe(false);
    deletes.open();
    await stopping;
    expect(t.settled).toHaveLength(5);
    expect(t.queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });
});

describe('WorkerRuntime: a handled message whose complete is under way holds no room (fake timers)', () => {
  /** A worker (MAX_IN_FLIGHT 10) whose completes hang until `heal` is called; `runs` counts handlers per key. */
  async function completesHang(options: { fifo?: boolean } = {}) {
    const w = world(options);
    const store = new Faults(w.store);
    const heal = store.cut('complete');
    const runs = new Map<string, number>();
    const one = worker(w, (m) => void runs.set(m.key, (runs.get(m.key) ?? 0) + 1), {
      store: store.subject,
      maxInFlight: 10,
    });
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    await w.send(keys.map((key) => (options.fifo ? { key, groupId: key } : { key })));
    await one.runtime.start();
    return { w, one, runs, heal, keys };
  }

  it('receives and handles the next batch while the completes of the first wait for their answer', async () => {
    const { w, one, runs, heal, keys } = await completesHang();
    // Ten handled, their completes hang: their room goes to the next ten, and theirs to the ten
    // after. Those keep their room (at most twice MAX_IN_FLIGHT settle): no fourth receive starts.
    await until(() => runs.size === 30, 'thirty handled');
    await jest.advanceTimersByTimeAsync(5000);
    expect(runs.size).toBe(30);
    expect(one.settled).toHaveLength(0);
    expect(one.runtime.inFlight).toBe(10);
    // Thirty results are not yet recorded: what the batching store waits for (its `held`).
    expect(one.runtime.unrecorded).toBe(30);
    heal();
    await until(() => one.settled.length === 40, 'all settled');
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(one.outcomes().every((o) => o === 'success')).toBe(true);
    expect([one.runtime.inFlight, one.runtime.unrecorded]).toEqual([0, 0]);
    const records = await Promise.all(keys.map((k) => w.store.get(`work#${k}`, Date.now())));
    expect(records.every((r) => r?.status === 'COMPLETED')).toBe(true);
    expect(w.queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await one.runtime.stop(1000);
  });

  it('releases a handed-off message whose complete never lands, and gives its room back once', async () => {
    const w = world();
    const store = new Faults(w.store);
    store.before('complete', () => {
      throw new StoreUnavailableError('idempotency store complete failed: timed out');
    });
    let handled = 0;
    const one = worker(w, () => void (handled += 1), { store: store.subject, maxInFlight: 10 });
    await w.send(Array.from({ length: 5 }, (_, i) => ({ key: `k${i}` })));
    await one.runtime.start();
    // Handled, their completes retried in place (message kept): no room held, all unrecorded.
    await until(() => handled === 5, 'five handled');
    await jest.advanceTimersByTimeAsync(5000);
    expect([one.runtime.inFlight, one.runtime.unrecorded, one.settled.length]).toEqual([0, 5, 0]);
    // At stop the completes give up: each message is released (it comes back), settled once.
    const stopping = one.runtime.stop(1000);
    await until(() => one.settled.length === 5, 'five released');
    await stopping;
    expect(one.outcomes()).toEqual(['retry', 'retry', 'retry', 'retry', 'retry']);
    expect([one.runtime.inFlight, one.runtime.unrecorded]).toEqual([0, 0]);
    expect(w.queue.counts().inFlight + w.queue.counts().visible + w.queue.counts().delayed).toBe(5);
  });

  it('keeps the room on a FIFO queue, whose next message of a group waits for the delete', async () => {
    const { one, runs, heal } = await completesHang({ fifo: true });
    await until(() => runs.size === 10, 'ten handled');
    await jest.advanceTimersByTimeAsync(5000);
    expect(runs.size).toBe(10);
    expect(one.runtime.inFlight).toBe(10);
    heal();
    await until(() => one.settled.length === 40, 'all settled');
    await one.runtime.stop(1000);
  });
});

describe('Capacity.close', () => {
  it('leaves no room, however much is free, and ends the waits for room with 0', async () => {
    const capacity = new Capacity(5);
    capacity.take(5);
    const waiting = capacity.waitForRoom();
    capacity.release();
    capacity.close();
    expect(capacity.room).toBe(0);
    await expect(waiting).resolves.toBe(0);
    await expect(capacity.reserve(10)).resolves.toBe(0);
    expect(capacity.reserved).toBe(0);
  });
});

describe('Capacity.reserve', () => {
  it("takes the room in the caller's synchronous step when there is some", () => {
    const capacity = new Capacity(10);
    void capacity.reserve(10);
    // A second receive woken by the same release sees the room gone, not a batch to share.
    expect([capacity.reserved, capacity.room]).toEqual([10, 0]);
  });
});
