import { MemoryQueues, type MemoryQueue } from '../../src/testing/memory-queue.js';
import { BatchingQueue } from '../../src/worker/batching-queue.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** Wall time starts at 1_750_000_000_000, monotonic at 0; only advance() and stepWall() move them. */
let clock: ManualClock;

beforeEach(() => {
  clock = new ManualClock(1_750_000_000_000, 0);
});

async function received(count: number): Promise<{ queue: MemoryQueue; handles: string[] }> {
  const queue = new MemoryQueues({ clock }).create('q');
  for (let i = 0; i < count; i += 1) await queue.send({ body: `m${i}` });
  const handles: string[] = [];
  while (handles.length < count) {
    const batch = await queue.receive({ maxMessages: 10, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30 });
    handles.push(...batch.map((m) => m.receiptHandle));
  }
  return { queue, handles };
}

describe('BatchingQueue', () => {
  it('sends 25 deletes as three DeleteMessageBatch calls, at once when 10 wait', async () => {
    const { queue, handles } = await received(25);
    const batching = new BatchingQueue(queue, 50, clock);
    const done = Promise.all(handles.map((h) => batching.delete(h)));
    await clock.advanceAsync(0);
    expect(queue.calls.deleteBatch).toBe(2);
    await clock.advanceAsync(50);
    await done;
    expect(queue.calls).toMatchObject({ delete: 0, deleteBatch: 3 });
    expect(queue.peek()).toEqual([]);
  });

  it('holds a lone entry for the flush delay, then sends it', async () => {
    const { queue, handles } = await received(1);
    const batching = new BatchingQueue(queue, 50, clock);
    const done = batching.delete(handles[0] as string);
    await clock.advanceAsync(49);
    expect(queue.calls.deleteBatch).toBe(0);
    await clock.advanceAsync(1);
    await done;
    expect(queue.calls.deleteBatch).toBe(1);
  });

  it("rejects only the failed entry's promise, with its own code; the others succeed", async () => {
    const { queue, handles } = await received(3);
    const batching = new BatchingQueue(queue, 10, clock);
    const results = Promise.allSettled([
      batching.delete(handles[0] as string),
      batching.delete('not-a-receipt-handle'),
      batching.delete(handles[2] as string),
    ]);
    await clock.advanceAsync(10);
    const [first, bad, third] = await results;
    expect(first.status).toBe('fulfilled');
    expect(third.status).toBe('fulfilled');
    expect(bad.status).toBe('rejected');
    expect(bad.status === 'rejected' && (bad.reason as Error).name).toBe('ReceiptHandleIsInvalid');
    expect(queue.peek().map((m) => m.body)).toEqual(['m1']);
  });

  it('batches visibility changes too', async () => {
    const { queue, handles } = await received(12);
    const batching = new BatchingQueue(queue, 20, clock);
    const done = Promise.all(
      handles.map((receiptHandle) =>
        batching.changeVisibility({ receiptHandle, visibilityTimeoutSeconds: 0 }),
      ),
    );
    await clock.advanceAsync(20);
    await done;
    expect(queue.calls).toMatchObject({ changeVisibility: 0, changeVisibilityBatch: 2 });
    expect(queue.counts().visible).toBe(12);
  });

  it('a whole batch call that fails rejects every entry in it', async () => {
    const { queue, handles } = await received(2);
    queue.intercept('deleteBatch', () => {
      throw new Error('connect ECONNREFUSED');
    });
    const batching = new BatchingQueue(queue, 10, clock);
    const results = Promise.allSettled(handles.map((h) => batching.delete(h)));
    await clock.advanceAsync(10);
    expect((await results).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(queue.peek()).toHaveLength(2);
  });

  it('flush() sends what waits at once and resolves only when the batch call is answered', async () => {
    const { queue, handles } = await received(2);
    queue.intercept('deleteBatch', async () => void (await clock.sleep(3000)));
    const batching = new BatchingQueue(queue, 8000, clock);
    const deleted = Promise.all(handles.map((h) => batching.delete(h)));
    let flushed = false;
    void batching.flush().then(() => (flushed = true));
    await clock.advanceAsync(0);
    expect(queue.calls.deleteBatch).toBe(1);
    await clock.advanceAsync(2999);
    expect(flushed).toBe(false);
    await clock.advanceAsync(1);
    expect(flushed).toBe(true);
    await deleted;
    expect(queue.peek()).toEqual([]);
  });

  it('flush() also waits for a batch its timer sent earlier, and never rejects', async () => {
    const { queue, handles } = await received(1);
    queue.intercept('deleteBatch', async () => {
      await clock.sleep(1000);
      throw new Error('connect ECONNREFUSED');
    });
    const batching = new BatchingQueue(queue, 50, clock);
    const deleted = batching.delete(handles[0] as string).catch((error: unknown) => error);
    await clock.advanceAsync(50); // sent by the timer, answer 1 s later
    let flushed = false;
    void batching.flush().then(() => (flushed = true));
    await clock.advanceAsync(999);
    expect(flushed).toBe(false);
    await clock.advanceAsync(1);
    expect(flushed).toBe(true);
    expect(await deleted).toBeInstanceOf(Error);
  });

  it('after stopDelaying(), what waits and every later entry goes out at once', async () => {
    const { queue, handles } = await received(2);
    const batching = new BatchingQueue(queue, 8000, clock);
    const first = batching.delete(handles[0] as string);
    batching.stopDelaying();
    await first;
    expect(queue.calls.deleteBatch).toBe(1);
    await batching.changeVisibility({ receiptHandle: handles[1] as string, visibilityTimeoutSeconds: 0 });
    expect(queue.calls).toMatchObject({ deleteBatch: 1, changeVisibilityBatch: 1 });
    expect(queue.counts().visible).toBe(1);
  });

  it('after a flush, the next lone entry waits its own full delay', async () => {
    const { queue, handles } = await received(3);
    const batching = new BatchingQueue(queue, 1000, clock);
    void batching.delete(handles[0] as string);
    await batching.flush();
    await clock.advanceAsync(500);
    void batching.delete(handles[1] as string);
    await clock.advanceAsync(999);
    expect(queue.calls.deleteBatch).toBe(1);
    await clock.advanceAsync(1);
    expect(queue.calls.deleteBatch).toBe(2);
    void batching.delete(handles[2] as string);
    await clock.advanceAsync(1000);
    expect(queue.calls.deleteBatch).toBe(3);
    expect(queue.peek()).toEqual([]);
  });
});

describe('BatchingQueue passes what it does not batch through', () => {
  it('is FIFO exactly when the queue it wraps is', () => {
    const queues = new MemoryQueues();
    expect(new BatchingQueue(queues.create('plain'), 10).fifo).toBe(false);
    expect(new BatchingQueue(queues.create('ordered.fifo'), 10).fifo).toBe(true);
  });
});
