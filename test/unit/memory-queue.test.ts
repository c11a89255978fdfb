import { jest } from '@jest/globals';
import { MemoryQueues, QueueError, type MemoryQueue } from '../../src/testing/memory-queue.js';
import type { ReceiveRequest, ReceivedMessage } from '../../src/core/queue.js';
import { systemClock } from '../../src/core/clock.js';

const T0 = 1_750_000_000_000;

/** A promise's outcome, readable synchronously once timers and microtasks have run. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

function request(overrides: Partial<ReceiveRequest> = {}): ReceiveRequest {
  return { maxMessages: 10, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, ...overrides };
}

async function receiveOne(queue: MemoryQueue, visibilityTimeoutSeconds = 30): Promise<ReceivedMessage> {
  const [message] = await queue.receive(request({ maxMessages: 1, visibilityTimeoutSeconds }));
  if (!message) throw new Error('nothing visible');
  return message;
}

let broker: MemoryQueues;

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
  broker = new MemoryQueues();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('MemoryQueue visibility', () => {
  it('hides a received message until exactly receive time + timeout, then redelivers it', async () => {
    const queue = broker.create('q');
    await queue.send({ body: 'm' });
    const first = await receiveOne(queue, 30);
    expect(first).toMatchObject({ receiveCount: 1, sentAt: T0, firstReceivedAt: T0 });
    await jest.advanceTimersByTimeAsync(29_999);
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    expect(await queue.receive(request())).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(queue.counts()).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    const second = await receiveOne(queue);
    expect(second).toMatchObject({ messageId: first.messageId, receiveCount: 2, firstReceivedAt: T0 });
    expect(second.receiptHandle).not.toBe(first.receiptHandle);
  });

  it('wakes a long poll at the moment a visibility timeout lapses', async () => {
    const queue = broker.create('q');
    await queue.send({ body: 'm' });
    await receiveOne(queue, 5);
    const poll = track(queue.receive(request({ waitTimeSeconds: 20 })));
    await jest.advanceTimersByTimeAsync(4_999);
    expect(poll.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(poll.value?.map((m) => [m.body, m.receiveCount])).toEqual([['m', 2]]);
    expect(Date.now()).toBe(T0 + 5_000);
  });

  it('wakes a long poll for a message that became visible between its look and its wait', async () => {
    // The clock moves 1 ms between the poll's look at the queue and the wait it then sets up (a
    // pause of the process there, under load): the message lapsing in that gap must still wake it.
    let reads = 0;
    let counting = false;
    const queue = new MemoryQueues({
      clock: {
        ...systemClock,
        now: () => Date.now() + (counting && ++reads > 2 ? 1 : 0),
        monotonic: () => performance.now(),
      },
    }).create('q');
    await queue.send({ body: 'm' });
    await receiveOne(queue, 1);
    await jest.advanceTimersByTimeAsync(999);
    counting = true;
    const poll = track(queue.receive(request({ waitTimeSeconds: 10 })));
    await jest.advanceTimersByTimeAsync(10);
    expect(poll.value?.map((m) => [m.body, m.receiveCount])).toEqual([['m', 2]]);
  });

  it('ends an empty long poll exactly at its deadline; wakes it at once on a send or a release', async () => {
    const queue = broker.create('q');
    const empty = track(queue.receive(request({ waitTimeSeconds: 3 })));
    await jest.advanceTimersByTimeAsync(2_999);
    expect(empty.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(empty.value).toEqual([]);

    const bySend = track(queue.receive(request({ waitTimeSeconds: 20 })));
    await jest.advanceTimersByTimeAsync(0);
    await queue.send({ body: 'sent' });
    await jest.advanceTimersByTimeAsync(0);
    expect(bySend.value?.map((m) => m.body)).toEqual(['sent']);

    const [held] = bySend.value ?? [];
    const byRelease = track(queue.receive(request({ waitTimeSeconds: 20 })));
    await jest.advanceTimersByTimeAsync(0);
    await queue.changeVisibility({ receiptHandle: held?.receiptHandle ?? '', visibilityTimeoutSeconds: 0 });
    await jest.advanceTimersByTimeAsync(0);
    expect(byRelease.value?.map((m) => [m.body, m.receiveCount])).toEqual([['sent', 2]]);
  });

  it('keeps handles apart: a stale handle neither deletes nor extends, the latest one does', async () => {
    const queue = broker.create('q');
    await queue.send({ body: 'm' });
    const first = await receiveOne(queue, 1);
    await jest.advanceTimersByTimeAsync(1_000);
    // The latest handle of a message visible again: AWS answers OK and changes nothing.
    await queue.changeVisibility({ receiptHandle: first.receiptHandle, visibilityTimeoutSeconds: 60 });
    expect(queue.counts().visible).toBe(1);
    const second = await receiveOne(queue, 30);
    await queue.delete(first.receiptHandle); // standard queue: succeeds, deletes nothing
    expect(queue.peek()).toHaveLength(1);
    await expect(
      queue.changeVisibility({ receiptHandle: first.receiptHandle, visibilityTimeoutSeconds: 0 }),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue', code: 'InvalidParameterValue' });
    await queue.delete(second.receiptHandle);
    expect(queue.peek()).toEqual([]);
    await queue.delete(second.receiptHandle); // a deleted message's handle: still fine
    await expect(queue.delete('AQEB-garbage')).rejects.toBeInstanceOf(QueueError);
    await expect(broker.create('other').delete(second.receiptHandle)).rejects.toMatchObject({
      name: 'ReceiptHandleIsInvalid',
    });
  });

  it('wakes a waiting long poll when a visibility timeout is shortened, at the new time', async () => {
    const queue = broker.create('q');
    await queue.send({ body: 'm' });
    const { receiptHandle } = await receiveOne(queue, 30);
    const poll = track(queue.receive(request({ waitTimeSeconds: 20 })));
    await jest.advanceTimersByTimeAsync(1_000);
    await queue.changeVisibility({ receiptHandle, visibilityTimeoutSeconds: 5 });
    await jest.advanceTimersByTimeAsync(4_999);
    expect(poll.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(poll.value?.map((m) => [m.body, m.receiveCount])).toEqual([['m', 2]]);
    expect(Date.now()).toBe(T0 + 6_000);
  });

  it('caps a visibility extension at 12 hours after the receive', async () => {
    const queue = broker.create('q');
    await queue.send({ body: 'm' });
    const { receiptHandle } = await receiveOne(queue, 43_200);
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(
      queue.changeVisibility({ receiptHandle, visibilityTimeoutSeconds: 43_200 }),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await queue.changeVisibility({ receiptHandle, visibilityTimeoutSeconds: 43_199 });
    expect(queue.peek()[0]?.visibleAt).toBe(T0 + 43_200_000);
  });
});

describe('MemoryQueue redrive', () => {
  it('moves a message received maxReceiveCount times to the DLQ on its next receive, waking a DLQ poll', async () => {
    const dlq = broker.create('q-dlq');
    const queue = broker.create('q', { redrive: { deadLetter: dlq, maxReceiveCount: 2 } });
    const id = await queue.send({
      body: 'poison',
      attributes: { k: { dataType: 'String', stringValue: 'v' } },
    });
    for (let i = 0; i < 2; i += 1) {
      const m = await receiveOne(queue, 10);
      await queue.changeVisibility({ receiptHandle: m.receiptHandle, visibilityTimeoutSeconds: 0 });
    }
    const dlqPoll = track(dlq.receive(request({ waitTimeSeconds: 20 })));
    await jest.advanceTimersByTimeAsync(0);
    expect(dlqPoll.settled).toBe(false);
    expect(await queue.receive(request())).toEqual([]);
    await jest.advanceTimersByTimeAsync(0);
    expect(dlqPoll.value).toMatchObject([
      { messageId: id, body: 'poison', attributes: { k: { stringValue: 'v' } } },
    ]);
    expect(queue.peek()).toEqual([]);
    expect(queue.calls.receive).toBe(3);
  });

  it('rejects a redrive policy across queue types or with maxReceiveCount out of 1-1000', () => {
    const dlq = broker.create('d');
    expect(() => broker.create('q.fifo', { redrive: { deadLetter: dlq, maxReceiveCount: 3 } })).toThrow(
      QueueError,
    );
    expect(() => broker.create('q', { redrive: { deadLetter: dlq, maxReceiveCount: 0 } })).toThrow(
      /maxReceiveCount/,
    );
  });
});

describe('MemoryQueue FIFO', () => {
  it('delivers a group in order and holds it while a message of it is in flight', async () => {
    const queue = broker.create('q.fifo', { contentBasedDeduplication: true });
    for (const body of ['a1', 'a2', 'b1']) await queue.send({ body, groupId: body[0] });
    const [a1] = await queue.receive(request({ maxMessages: 1 }));
    expect(a1?.body).toBe('a1');
    expect((await queue.receive(request())).map((m) => m.body)).toEqual(['b1']);
    const poll = track(queue.receive(request({ waitTimeSeconds: 20 })));
    await jest.advanceTimersByTimeAsync(0);
    expect(poll.settled).toBe(false);
    await queue.delete(a1?.receiptHandle ?? '');
    await jest.advanceTimersByTimeAsync(0);
    expect(poll.value?.map((m) => m.body)).toEqual(['a2']);
    await expect(queue.delete(a1?.receiptHandle ?? '')).resolves.toBeUndefined();
  });

  it('deduplicates for 5 minutes, by id or by content; requires a group and refuses per-message delays', async () => {
    const queue = broker.create('q.fifo');
    const first = await queue.send({ body: 'x', groupId: 'g', deduplicationId: 'd' });
    await jest.advanceTimersByTimeAsync(299_999);
    expect(await queue.send({ body: 'y', groupId: 'g', deduplicationId: 'd' })).toBe(first);
    await jest.advanceTimersByTimeAsync(1);
    expect(await queue.send({ body: 'y', groupId: 'g', deduplicationId: 'd' })).not.toBe(first);
    await expect(queue.send({ body: 'x', groupId: 'g' })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(queue.send({ body: 'x', deduplicationId: 'e' })).rejects.toMatchObject({
      name: 'MissingParameter',
    });
    await expect(
      queue.send({ body: 'x', groupId: 'g', deduplicationId: 'f', delaySeconds: 5 }),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    const content = broker.create('c.fifo', { contentBasedDeduplication: true });
    expect(await content.send({ body: 'same', groupId: 'g' })).toBe(
      await content.send({ body: 'same', groupId: 'h' }),
    );
  });

  it('makes an expired FIFO handle fail to delete', async () => {
    const queue = broker.create('q.fifo', { contentBasedDeduplication: true });
    await queue.send({ body: 'x', groupId: 'g' });
    const m = await receiveOne(queue, 1);
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(queue.delete(m.receiptHandle)).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });
});

describe('MemoryQueue delays, abort and limits', () => {
  it('holds a delayed message until its delay passes, then wakes a long poll', async () => {
    const queue = broker.create('q');
    await queue.send({ body: 'later', delaySeconds: 10 });
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
    const poll = track(queue.receive(request({ waitTimeSeconds: 20 })));
    await jest.advanceTimersByTimeAsync(9_999);
    expect(poll.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(poll.value).toMatchObject([{ body: 'later', receiveCount: 1, firstReceivedAt: T0 + 10_000 }]);
    await expect(queue.send({ body: 'x', delaySeconds: 901 })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
  });

  it('rejects an aborted long poll at once with an AbortError, and a message sent later stays', async () => {
    const queue = broker.create('q');
    const controller = new AbortController();
    const poll = track(queue.receive(request({ waitTimeSeconds: 20, signal: controller.signal })));
    await jest.advanceTimersByTimeAsync(1_000);
    controller.abort();
    await jest.advanceTimersByTimeAsync(0);
    expect(poll.error).toMatchObject({ name: 'AbortError' });
    await queue.send({ body: 'kept' });
    expect(queue.counts().visible).toBe(1);
    const custom = new AbortController();
    custom.abort(new Error('shutting down'));
    await expect(queue.receive(request({ signal: custom.signal }))).rejects.toMatchObject({
      name: 'AbortError',
      cause: { message: 'shutting down' },
    });
    expect(queue.counts().visible).toBe(1);
  });

  it("enforces SQS's limits with its codes, and accepts what SQS accepts", async () => {
    const queue = broker.create('q');
    await expect(queue.receive(request({ maxMessages: 11 }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(queue.receive(request({ waitTimeSeconds: 21 }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(queue.receive(request({ visibilityTimeoutSeconds: 43_201 }))).rejects.toBeInstanceOf(
      QueueError,
    );
    await expect(queue.deleteBatch([])).rejects.toMatchObject({ name: 'EmptyBatchRequest' });
    await expect(
      queue.changeVisibilityBatch(Array(11).fill({ receiptHandle: 'x', visibilityTimeoutSeconds: 0 })),
    ).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
    await expect(queue.send({ body: '' })).rejects.toMatchObject({ name: 'MissingParameter' });
    await expect(queue.send({ body: 'nul\u0000' })).rejects.toMatchObject({ name: 'InvalidMessageContents' });
    await expect(queue.send({ body: 'a', attributes: { k: { dataType: 'String' } } })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(queue.send({ body: 'emoji 🎉' })).resolves.toEqual(expect.any(String));
    expect(() => broker.create('q')).toThrow(/exists/);
    expect(() => broker.create('bad name')).toThrow(QueueError);
    expect(broker.get(queue.url)).toBe(queue);
  });
});

describe('MemoryQueue test extras', () => {
  it('counts calls and lets an interceptor fail a call, delay it, and be removed', async () => {
    const queue = broker.create('q');
    const remove = queue.intercept('send', (message) => {
      throw new QueueError('RequestThrottled', `no ${message.body}`);
    });
    await expect(queue.send({ body: 'm' })).rejects.toMatchObject({
      name: 'RequestThrottled',
      message: 'no m',
    });
    remove();
    await queue.send({ body: 'm' });

    let release = () => undefined as void;
    const slow = queue.intercept('receive', () => new Promise<void>((resolve) => (release = resolve)));
    const poll = track(queue.receive(request()));
    await jest.advanceTimersByTimeAsync(60_000);
    expect(poll.settled).toBe(false);
    expect(queue.counts().visible).toBe(1);
    release();
    await jest.advanceTimersByTimeAsync(0);
    expect(poll.value?.map((m) => m.body)).toEqual(['m']);
    slow();
    expect(queue.calls).toEqual({
      receive: 1,
      delete: 0,
      deleteBatch: 0,
      changeVisibility: 0,
      changeVisibilityBatch: 0,
      send: 2,
    });
  });

  it('aborts a receive held by a slow interceptor', async () => {
    const queue = broker.create('q');
    queue.intercept('receive', () => new Promise<void>(() => undefined));
    const controller = new AbortController();
    const poll = track(queue.receive(request({ signal: controller.signal })));
    controller.abort();
    await jest.advanceTimersByTimeAsync(0);
    expect(poll.error).toMatchObject({ name: 'AbortError' });
  });

  it('peeks at every stored message and its state without receiving', async () => {
    const queue = broker.create('q');
    await queue.send({ body: 'first' });
    await queue.send({ body: 'delayed', delaySeconds: 5 });
    await queue.send({ body: 'waiting' });
    await receiveOne(queue);
    expect(queue.peek().map((m) => [m.body, m.state, m.receiveCount])).toEqual([
      ['first', 'inFlight', 1],
      ['delayed', 'delayed', 0],
      ['waiting', 'visible', 0],
    ]);
    expect(queue.counts()).toEqual({ visible: 1, inFlight: 1, delayed: 1 });
    expect(queue.calls.receive).toBe(1);
  });
});
