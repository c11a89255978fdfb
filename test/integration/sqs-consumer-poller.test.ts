import { EventEmitter, once } from 'node:events';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../src/aws/clients.js';
import { failurePauseMs, type ReceiveGate } from '../../src/core/message-source.js';
import type { ReceivedMessage } from '../../src/core/queue.js';
import { Capacity } from '../../src/worker/capacity.js';
import { fixture, send, useTestAws, type TestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';
import { startHolding, testPoller } from '../helpers/sqs-poller.js';

/**
 * The guarantees the runtime needs from sqs-consumer, pinned against fauxqs so that an upgrade
 * that breaks one fails CI: (1) it never starts a receive before handleMessageBatch has resolved,
 * and takes a batchSize changed there into account, so no receive asks for more than fits under
 * MAX_IN_FLIGHT; (2) stop() aborts the long poll in progress.
 */
interface ReceiveCall {
  readonly maxMessages: number;
  /** Messages in flight when the receive was sent. */
  readonly inFlightAtSend: number;
  /** Messages asked for by the receives under way when it was sent, its own included. */
  readonly askedAtSend: number;
  /** Receives under way when it was sent, itself included. */
  readonly underWayAtSend: number;
  outcome?: string;
}

/** An SQS client that records every ReceiveMessage it sends and how it ended. */
function recordingClient(aws: TestAws, inFlight: () => number) {
  const sqs: SQSClient = createSqsClient(aws.settings);
  const receives: ReceiveCall[] = [];
  const ended = new EventEmitter();
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'ReceiveMessageCommand') return next(args);
      const input = args.input as { MaxNumberOfMessages?: number };
      const maxMessages = input.MaxNumberOfMessages ?? 1;
      const underWay = receives.filter((r) => r.outcome === undefined);
      const call: ReceiveCall = {
        maxMessages,
        inFlightAtSend: inFlight(),
        askedAtSend: underWay.reduce((sum, r) => sum + r.maxMessages, maxMessages),
        underWayAtSend: underWay.length + 1,
      };
      receives.push(call);
      try {
        const out = await next(args);
        call.outcome = 'ok';
        return out;
      } catch (error) {
        call.outcome = (error as Error).name;
        throw error;
      } finally {
        ended.emit('end', call);
      }
    },
    { step: 'initialize', name: 'recordReceives' },
  );
  return { sqs, receives, ended };
}

/** A gate the test shuts and opens by hand, counting the waits at it. */
function manualGate() {
  let open: () => void = () => {};
  const gate = {
    paused: true,
    waits: 0,
    whenReceiving(signal: AbortSignal): Promise<void> {
      gate.waits += 1;
      return new Promise<void>((resolve) => {
        open = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
    open(): void {
      gate.paused = false;
      open();
    },
  };
  return gate;
}

const poller = (
  sqs: SQSClient,
  queueUrl: string,
  waitTimeSeconds: number,
  fullBatchWaitMs?: number,
  gate?: ReceiveGate,
  concurrency?: number,
) =>
  testPoller(sqs, queueUrl, {
    waitTimeSeconds,
    ...(fullBatchWaitMs === undefined ? {} : { fullBatchWaitMs }),
    ...(gate === undefined ? {} : { gate }),
    ...(concurrency === undefined ? {} : { concurrency }),
  });

/** Settles `count` held messages one at a time, as handlers finish, freeing a slot each. */
async function settleOneByOne(held: ReceivedMessage[], capacity: Capacity, count: number): Promise<void> {
  for (let settled = 0; settled < count; settled += 1) {
    await eventually(async () => (held.length > 0 ? true : undefined));
    held.shift();
    capacity.release();
  }
}

describe('SqsConsumerPoller (sqs-consumer) on fauxqs', () => {
  const aws = useTestAws();

  it('never asks for more than fits under MAX_IN_FLIGHT, and fills up to it', async () => {
    const f = await fixture(aws);
    await send(
      aws,
      f.queueUrl,
      Array.from({ length: 40 }, (_, i) => ({ body: `{"n":${i}}`, key: `k${i}` })),
    );
    const capacity = new Capacity(15);
    const { sqs, receives } = recordingClient(aws, () => capacity.inFlight);
    const source = poller(sqs, f.queueUrl, 1);
    const held = startHolding(source, capacity);
    await eventually(async () => (capacity.inFlight === 15 ? true : undefined));
    // Settle one message at a time, as handlers finish, until all 40 went through.
    await settleOneByOne(held, capacity, 40);
    for (const call of receives) expect(call.inFlightAtSend + call.maxMessages).toBeLessThanOrEqual(15);
    expect(Math.max(...receives.map((r) => r.inFlightAtSend + r.maxMessages))).toBe(15);
    capacity.close();
    await source.stop();
    sqs.destroy();
  });

  it('with several Consumers, receives under way and messages held never pass MAX_IN_FLIGHT', async () => {
    const f = await fixture(aws);
    await send(
      aws,
      f.queueUrl,
      Array.from({ length: 60 }, (_, i) => ({ body: `{"n":${i}}`, key: `k${i}` })),
    );
    const capacity = new Capacity(25);
    const { sqs, receives } = recordingClient(aws, () => capacity.inFlight);
    const source = poller(sqs, f.queueUrl, 1, undefined, undefined, 4);
    const held = startHolding(source, capacity);
    await eventually(async () => (capacity.inFlight === 25 ? true : undefined));
    await settleOneByOne(held, capacity, 60);
    for (const call of receives) expect(call.inFlightAtSend + call.askedAtSend).toBeLessThanOrEqual(25);
    // Three Consumers polled side by side (10 + 10 + 5); the fourth waited for room.
    expect(Math.max(...receives.map((r) => r.underWayAtSend))).toBeGreaterThan(1);
    capacity.close();
    await source.stop();
    expect(receives.every((r) => r.outcome !== undefined)).toBe(true);
    sqs.destroy();
  });

  it('asks for a whole batch once one fits, not for each slot a finished handler frees', async () => {
    const f = await fixture(aws);
    await send(
      aws,
      f.queueUrl,
      Array.from({ length: 50 }, (_, i) => ({ body: `{"n":${i}}`, key: `k${i}` })),
    );
    const capacity = new Capacity(20);
    const { sqs, receives } = recordingClient(aws, () => capacity.inFlight);
    // A wait no test run reaches: the room for a batch comes from the releases below, not a timer.
    const source = poller(sqs, f.queueUrl, 1, 600_000);
    const held = startHolding(source, capacity);
    // Handlers finish one at a time.
    await settleOneByOne(held, capacity, 50);
    expect(receives.length).toBeGreaterThanOrEqual(5);
    expect(receives.map((r) => r.maxMessages)).toEqual(receives.map(() => 10));
    for (const call of receives) expect(call.inFlightAtSend + call.maxMessages).toBeLessThanOrEqual(20);
    capacity.close();
    await source.stop();
    sqs.destroy();
  });

  it('backs off after refused connections instead of spinning', async () => {
    const refused = createSqsClient({ ...aws.settings, sqsEndpoint: 'http://127.0.0.1:1' });
    const capacity = new Capacity(10);
    const source = poller(refused, 'http://127.0.0.1:1/000000000000/nowhere', 1);
    const failures: unknown[] = [];
    source.start({
      capacity,
      received: () => {},
      succeeded: () => {},
      empty: () => {},
      failed: (error) => failures.push(error),
    });
    await eventually(async () => (failures.length >= 2 ? true : undefined));
    expect(source.pauseMs).toBe(failurePauseMs(failures.length, { baseMs: 1000, maxMs: 1000 }));
    expect(source.pauseMs).toBeGreaterThan(0);
    capacity.close();
    await source.stop();
    refused.destroy();
  });

  it('stop() aborts the long poll in progress', async () => {
    const f = await fixture(aws);
    const capacity = new Capacity(10);
    const { sqs, receives, ended } = recordingClient(aws, () => capacity.inFlight);
    const source = poller(sqs, f.queueUrl, 20);
    source.start({ capacity, received: () => {}, succeeded: () => {}, empty: () => {}, failed: () => {} });
    await eventually(async () => (receives.length === 1 ? true : undefined));
    const end = once(ended, 'end');
    capacity.close();
    await source.stop();
    await end;
    // Had the abort not reached the request, it would have ended 'ok' after its 20 s wait.
    expect(receives.map((r) => r.outcome)).toEqual(['AbortError']);
    expect(source.quietUntil).toBeGreaterThan(0);
    sqs.destroy();
  });

  it('sends no receive while the gate is shut, receives once it opens, and stop() ends a wait at it', async () => {
    const f = await fixture(aws);
    await send(aws, f.queueUrl, [{ body: '{"n":1}', key: 'k' }]);
    const capacity = new Capacity(10);
    const { sqs, receives } = recordingClient(aws, () => capacity.inFlight);
    const gate = manualGate();
    const source = poller(sqs, f.queueUrl, 1, undefined, gate);
    const held = startHolding(source, capacity);
    await eventually(async () => (gate.waits === 1 ? true : undefined));
    // sqs-consumer is inside preReceiveMessageCallback: the ReceiveMessage is not sent yet.
    expect(receives).toEqual([]);
    gate.open();
    await eventually(async () => (held.length === 1 ? true : undefined));
    expect(receives[0]?.outcome).toBe('ok');
    // Shut again: the next receive waits at the gate until stop() ends the wait.
    gate.paused = true;
    await eventually(async () => (gate.waits === 2 ? true : undefined));
    const sentBefore = receives.length;
    capacity.close();
    await source.stop();
    // Whatever went out after the wait ended carried the aborted signal and was never answered.
    expect(receives.slice(sentBefore).every((r) => r.outcome !== 'ok')).toBe(true);
    expect(held).toHaveLength(1);
    sqs.destroy();
  });
});
