import { randomUUID } from 'node:crypto';
import type { Queue, ReceivedMessage } from '../../src/core/queue.js';

/** A queue and its dead-letter queue, wired by a redrive policy; fresh for each test. */
export interface QueuePairUnderTest {
  readonly queue: Queue;
  readonly dlq: Queue;
}

export interface QueueUnderTest {
  pair(
    name: string,
    options: { maxReceiveCount: number; visibilityTimeoutSeconds: number },
  ): Promise<QueuePairUnderTest>;
  close(): Promise<void>;
}

/**
 * Where an implementation is known to differ from Amazon SQS. The contract is written to SQS's
 * documented behaviour; a quirk makes a case assert the implementation's answer instead, so the
 * difference is stated here rather than hidden by a loose assertion.
 */
export interface QueueQuirks {
  /** fauxqs: DeleteMessage(Batch) of a handle it never issued succeeds (SQS: ReceiptHandleIsInvalid). */
  readonly deleteAcceptsUnknownHandles?: boolean;
  /** ChangeMessageVisibility of a handle never issued: SQS says ReceiptHandleIsInvalid; fauxqs MessageNotInflight. */
  readonly unknownHandleVisibilityError?: string;
  /**
   * ChangeMessageVisibility with the handle of an earlier receive: SQS says InvalidParameterValue
   * ("Message does not exist or is not available for visibility timeout change"); fauxqs MessageNotInflight.
   */
  readonly staleHandleVisibilityError?: string;
}

const SHORT_VISIBILITY = 1;
const LONG_VISIBILITY = 30;
const BAD_HANDLE = 'not-a-receipt-handle';

/** Long polls (1 s each) until `count` messages arrived or `withinMs` passed; never a fixed sleep. */
async function receiveCount(
  queue: Queue,
  count: number,
  options: { visibilityTimeoutSeconds: number; withinMs?: number },
): Promise<ReceivedMessage[]> {
  const got: ReceivedMessage[] = [];
  const deadline = Date.now() + (options.withinMs ?? 10_000);
  while (got.length < count && Date.now() < deadline) {
    const batch = await queue.receive({
      maxMessages: Math.min(10, count - got.length),
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    });
    got.push(...batch);
  }
  return got;
}

async function receiveOne(queue: Queue, visibilityTimeoutSeconds: number): Promise<ReceivedMessage> {
  const [message] = await receiveCount(queue, 1, { visibilityTimeoutSeconds });
  if (!message) throw new Error('no message arrived within 10 s');
  return message;
}

/** Nothing arrives during one long poll of `seconds` (it ends at its deadline or with a message). */
async function expectNothingFor(queue: Queue, seconds: number): Promise<void> {
  const got = await queue.receive({ maxMessages: 10, waitTimeSeconds: seconds, visibilityTimeoutSeconds: 1 });
  expect(got.map((m) => m.body)).toEqual([]);
}

/**
 * The Queue contract: one `describe` block that any implementation must pass, run on the real
 * clock with 1 s visibility timeouts. Every test has its own queue pair. Waiting is always a long
 * poll or a poll with a deadline.
 */
export function describeQueueContract(
  name: string,
  factory: () => Promise<QueueUnderTest>,
  quirks: QueueQuirks = {},
): void {
  describe(name, () => {
    let subject: QueueUnderTest | undefined;
    const pair = async (options: { fifo?: boolean; maxReceiveCount?: number } = {}) => {
      if (!subject) throw new Error(`${name}: the queue factory failed`);
      const queueName = `qc-${randomUUID().slice(0, 8)}${options.fifo ? '.fifo' : ''}`;
      return subject.pair(queueName, {
        maxReceiveCount: options.maxReceiveCount ?? 5,
        visibilityTimeoutSeconds: SHORT_VISIBILITY,
      });
    };

    beforeAll(async () => {
      subject = await factory();
    });

    afterAll(async () => {
      await subject?.close();
    });

    it('delivers what was sent: body, typed attributes (Binary as bytes), ids and timestamps', async () => {
      const { queue } = await pair();
      const before = Date.now();
      const id = await queue.send({
        body: '{"n":1} ünïcödé',
        attributes: {
          key: { dataType: 'String', stringValue: 'k-1' },
          count: { dataType: 'Number', stringValue: '42' },
          doc: { dataType: 'String.json', stringValue: '{"a":1}' },
          raw: { dataType: 'Binary', binaryValue: new Uint8Array([0, 1, 254, 255]) },
        },
      });
      const message = await receiveOne(queue, LONG_VISIBILITY);
      expect(message).toMatchObject({ messageId: id, body: '{"n":1} ünïcödé', receiveCount: 1 });
      expect(message.groupId).toBeUndefined();
      expect(message.attributes).toEqual({
        key: { dataType: 'String', stringValue: 'k-1' },
        count: { dataType: 'Number', stringValue: '42' },
        doc: { dataType: 'String.json', stringValue: '{"a":1}' },
        raw: { dataType: 'Binary', binaryValue: expect.any(Uint8Array) },
      });
      expect([...(message.attributes.raw?.binaryValue ?? [])]).toEqual([0, 1, 254, 255]);
      expect(message.sentAt).toBeGreaterThanOrEqual(before - 1000);
      expect(message.firstReceivedAt).toBeGreaterThanOrEqual(message.sentAt ?? Infinity);
      expect(message.firstReceivedAt).toBeLessThanOrEqual(Date.now());
    });

    it('hides a received message for its visibility timeout, then redelivers it with a new handle', async () => {
      const { queue } = await pair();
      await queue.send({ body: 'again' });
      const first = await receiveOne(queue, SHORT_VISIBILITY);
      expect(
        await queue.receive({ maxMessages: 10, waitTimeSeconds: 0, visibilityTimeoutSeconds: 1 }),
      ).toEqual([]);
      // One long poll gets it back once the timeout lapses. (That it wakes at that moment, not at
      // its deadline, is the twin's unit test, on fake timers: no elapsed time is asserted here.)
      const [second] = await queue.receive({
        maxMessages: 1,
        waitTimeSeconds: 10,
        visibilityTimeoutSeconds: 5,
      });
      expect(second).toMatchObject({ messageId: first.messageId, receiveCount: 2 });
      expect(second?.receiptHandle).not.toBe(first.receiptHandle);
      expect(second?.firstReceivedAt).toBe(first.firstReceivedAt);
    });

    it('makes a message visible at once on changeVisibility 0; the earlier handle is then stale', async () => {
      const { queue } = await pair();
      await queue.send({ body: 'release' });
      const first = await receiveOne(queue, LONG_VISIBILITY);
      await queue.changeVisibility({ receiptHandle: first.receiptHandle, visibilityTimeoutSeconds: 0 });
      const second = await receiveOne(queue, LONG_VISIBILITY);
      expect(second).toMatchObject({ messageId: first.messageId, receiveCount: 2 });
      await expect(
        queue.changeVisibility({ receiptHandle: first.receiptHandle, visibilityTimeoutSeconds: 0 }),
      ).rejects.toMatchObject({ name: quirks.staleHandleVisibilityError ?? 'InvalidParameterValue' });
      await expect(
        queue.changeVisibility({ receiptHandle: BAD_HANDLE, visibilityTimeoutSeconds: 0 }),
      ).rejects.toMatchObject({ name: quirks.unknownHandleVisibilityError ?? 'ReceiptHandleIsInvalid' });
    });

    it('deletes one by one and in a batch; a bad handle fails alone, reported by its index', async () => {
      const { queue } = await pair();
      for (const body of ['a', 'b', 'c', 'd']) await queue.send({ body });
      const got = await receiveCount(queue, 4, { visibilityTimeoutSeconds: SHORT_VISIBILITY });
      expect(got.map((m) => m.body).sort()).toEqual(['a', 'b', 'c', 'd']);
      const [one, ...rest] = got.map((m) => m.receiptHandle) as [string, ...string[]];
      await queue.delete(one);
      const result = await queue.deleteBatch([rest[0] ?? '', BAD_HANDLE, ...rest.slice(1)]);
      expect(result.failed).toEqual(
        quirks.deleteAcceptsUnknownHandles
          ? []
          : [{ index: 1, code: 'ReceiptHandleIsInvalid', message: expect.any(String) }],
      );
      // Undeleted messages would be back within the 1 s timeout: none comes during a 2 s long poll.
      await expectNothingFor(queue, 2);
    });

    it('rejects a delete of a handle SQS never issued (ReceiptHandleIsInvalid)', async () => {
      const { queue } = await pair();
      const call = queue.delete(BAD_HANDLE);
      if (quirks.deleteAcceptsUnknownHandles) await expect(call).resolves.toBeUndefined();
      else await expect(call).rejects.toMatchObject({ name: 'ReceiptHandleIsInvalid' });
    });

    it('changes visibility in a batch; a bad handle fails alone, reported by its index', async () => {
      const { queue } = await pair();
      for (const body of ['a', 'b']) await queue.send({ body });
      const got = await receiveCount(queue, 2, { visibilityTimeoutSeconds: LONG_VISIBILITY });
      const [a, b] = got.map((m) => m.receiptHandle);
      const result = await queue.changeVisibilityBatch([
        { receiptHandle: a ?? '', visibilityTimeoutSeconds: 0 },
        { receiptHandle: BAD_HANDLE, visibilityTimeoutSeconds: 0 },
        { receiptHandle: b ?? '', visibilityTimeoutSeconds: 0 },
      ]);
      expect(result.failed).toEqual([
        { index: 1, code: 'ReceiptHandleIsInvalid', message: expect.any(String) },
      ]);
      const again = await receiveCount(queue, 2, { visibilityTimeoutSeconds: LONG_VISIBILITY });
      expect(again.map((m) => [m.body, m.receiveCount]).sort()).toEqual([
        ['a', 2],
        ['b', 2],
      ]);
    });

    it("enforces SQS's limits with its error codes", async () => {
      const { queue } = await pair();
      const receive = (maxMessages: number, waitTimeSeconds: number, visibilityTimeoutSeconds = 1) =>
        queue.receive({ maxMessages, waitTimeSeconds, visibilityTimeoutSeconds });
      const invalid = { name: 'InvalidParameterValue' };
      await expect(receive(11, 0)).rejects.toMatchObject(invalid);
      await expect(receive(0, 0)).rejects.toMatchObject(invalid);
      await expect(receive(1, 21)).rejects.toMatchObject(invalid);
      await expect(receive(1, 0, 43_201)).rejects.toMatchObject(invalid);
      await expect(queue.deleteBatch([])).rejects.toMatchObject({ name: 'EmptyBatchRequest' });
      const eleven = Array.from({ length: 11 }, () => BAD_HANDLE);
      await expect(queue.deleteBatch(eleven)).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
      await expect(
        queue.changeVisibilityBatch(
          eleven.map((receiptHandle) => ({ receiptHandle, visibilityTimeoutSeconds: 0 })),
        ),
      ).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
    });

    it('moves a message received maxReceiveCount times to the dead-letter queue on its next receive', async () => {
      const { queue, dlq } = await pair({ maxReceiveCount: 2 });
      const id = await queue.send({
        body: 'poison',
        attributes: { key: { dataType: 'String', stringValue: 'p' } },
      });
      for (const count of [1, 2]) {
        const message = await receiveOne(queue, LONG_VISIBILITY);
        expect(message).toMatchObject({ messageId: id, receiveCount: count });
        await queue.changeVisibility({ receiptHandle: message.receiptHandle, visibilityTimeoutSeconds: 0 });
      }
      await expectNothingFor(queue, 1);
      const dead = await receiveOne(dlq, LONG_VISIBILITY);
      expect(dead).toMatchObject({
        messageId: id,
        body: 'poison',
        attributes: { key: { stringValue: 'p' } },
      });
    });

    it('FIFO: delivers a group in order, and nothing more of a group while one of its messages is in flight', async () => {
      const { queue } = await pair({ fifo: true });
      const sent = ['a1', 'a2', 'a3', 'b1', 'b2'];
      for (const body of sent) await queue.send({ body, groupId: body[0], deduplicationId: body });
      const order: string[] = [];
      const receive = (maxMessages: number, waitTimeSeconds: number) =>
        queue.receive({ maxMessages, waitTimeSeconds, visibilityTimeoutSeconds: LONG_VISIBILITY });
      for (let round = 0; order.length < sent.length && round < 10; round += 1) {
        const [head] = await receive(1, 1);
        if (!head) throw new Error(`round ${round}: nothing delivered after ${order.join(',')}`);
        // While `head` is in flight its group is locked: a further receive gets none of that group.
        const others = await receive(10, 0);
        expect(others.filter((m) => m.groupId === head.groupId)).toEqual([]);
        order.push(head.body, ...others.map((m) => m.body));
        await queue.deleteBatch([head, ...others].map((m) => m.receiptHandle));
      }
      expect(order.filter((b) => b.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
      expect(order.filter((b) => b.startsWith('b'))).toEqual(['b1', 'b2']);
    });

    it('FIFO: a deduplication id seen within 5 minutes returns the first MessageId and sends nothing', async () => {
      const { queue } = await pair({ fifo: true });
      const first = await queue.send({ body: 'once', groupId: 'g', deduplicationId: 'd-1' });
      expect(await queue.send({ body: 'once again', groupId: 'g', deduplicationId: 'd-1' })).toBe(first);
      const message = await receiveOne(queue, LONG_VISIBILITY);
      expect(message).toMatchObject({ messageId: first, body: 'once', groupId: 'g' });
      await queue.delete(message.receiptHandle);
      await expectNothingFor(queue, 1);
    });

    // When a long poll wakes (at once, not at its deadline) is the twin's unit test, on fake
    // timers; here only what it returns: no elapsed time is asserted on a real clock.
    it('long poll: returns a delayed message once it becomes visible', async () => {
      const { queue } = await pair();
      await queue.send({ body: 'later', delaySeconds: 1 });
      const got = await queue.receive({ maxMessages: 10, waitTimeSeconds: 10, visibilityTimeoutSeconds: 30 });
      expect(got.map((m) => m.body)).toEqual(['later']);
    });

    it('long poll: returns when a message is sent during the poll', async () => {
      const { queue } = await pair();
      const poll = queue.receive({ maxMessages: 10, waitTimeSeconds: 10, visibilityTimeoutSeconds: 30 });
      await queue.send({ body: 'arrives' });
      expect((await poll).map((m) => m.body)).toEqual(['arrives']);
    });

    it('aborting a long poll rejects it promptly with an AbortError', async () => {
      const { queue } = await pair();
      const controller = new AbortController();
      const poll = queue.receive({
        maxMessages: 10,
        waitTimeSeconds: 20,
        visibilityTimeoutSeconds: 30,
        signal: controller.signal,
      });
      const outcome = poll.then(
        () => ({ name: 'resolved', at: Date.now() }),
        (error: Error) => ({ name: error.name, at: Date.now() }),
      );
      // The abort lands while the poll waits, whatever the moment; the answer must follow it promptly.
      const abortedAt = await new Promise<number>((resolve) =>
        setTimeout(() => {
          controller.abort();
          resolve(Date.now());
        }, 100),
      );
      const { name: errorName, at } = await outcome;
      expect(errorName).toBe('AbortError');
      expect(at - abortedAt).toBeLessThan(1_000);
      const already = queue.receive({
        maxMessages: 1,
        waitTimeSeconds: 20,
        visibilityTimeoutSeconds: 1,
        signal: controller.signal,
      });
      await expect(already).rejects.toMatchObject({ name: 'AbortError' });
    });
  });
}
