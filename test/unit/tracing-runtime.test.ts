import { jest } from '@jest/globals';
import { PermanentError } from '../../src/core/errors.js';
import type {
  DeliveryEnd,
  DeliveryTrace,
  TraceAttributes,
  TracedDelivery,
  Tracing,
} from '../../src/core/tracing.js';
import { twin, until } from '../helpers/runtime-twin.js';

/**
 * The runtime's side of the Tracing port (core/tracing.ts), on the in-memory twins with a tracer
 * of our own that records what it is told: which steps each delivery runs, in which order, with
 * what result, and how it ends. The OpenTelemetry side is tested against a real OTLP receiver in
 * test/integration/tracing.test.ts.
 */

interface Recorded {
  readonly delivery: TracedDelivery;
  readonly steps: { name: string; failed: boolean; attributes: TraceAttributes }[];
  end?: DeliveryEnd;
  /** Calls after end(): there must be none. */
  late: number;
}

function recordingTracing(): Tracing & { readonly deliveries: Recorded[] } {
  const deliveries: Recorded[] = [];
  return {
    enabled: true,
    deliveries,
    startDelivery(delivery) {
      const recorded: Recorded = { delivery, steps: [], late: 0 };
      deliveries.push(recorded);
      const trace: DeliveryTrace = {
        async step(name, work, describe) {
          if (recorded.end) recorded.late += 1;
          const step = { name, failed: false, attributes: {} as TraceAttributes };
          recorded.steps.push(step);
          try {
            const result = await work();
            if (describe) step.attributes = describe(result);
            return result;
          } catch (error) {
            step.failed = true;
            throw error;
          }
        },
        end(result) {
          if (recorded.end) recorded.late += 1;
          recorded.end = result;
        },
      };
      return trace;
    },
    produce: (_destination, send) => send({}),
    shutdown: async () => {},
  };
}

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the runtime through the Tracing port', () => {
  it('runs claim, handler and settle as steps of each delivery, then ends it with the outcome', async () => {
    const tracing = recordingTracing();
    const t = twin(
      (m) => {
        if (m.key === 'bad') throw new PermanentError('no');
      },
      { tracing },
    );
    await t.send([
      { key: 'good', body: '{"order":1}' },
      { key: 'bad', body: '{"order":2}' },
    ]);
    await t.runtime.start();
    await until(() => t.settled.length === 2, 'both settled');
    await t.send([{ key: 'good', body: '{"order":1}' }]);
    await until(() => t.settled.length === 3, 'the duplicate settled');
    await t.runtime.stop(1000);

    const [good, bad, duplicate] = tracing.deliveries;
    expect(good?.delivery).toMatchObject({ key: 'good', destination: 'work' });
    expect(good?.steps.map((s) => s.name)).toEqual(['claim', 'handler', 'settle']);
    expect(good?.steps[0]?.attributes).toEqual({
      'sqs_worker.claim.result': 'acquired',
      'sqs_worker.claim.attempt': 1,
    });
    expect(good?.steps[2]?.attributes).toEqual({ 'sqs_worker.settle.action': 'delete' });
    expect(good?.end).toMatchObject({ outcome: 'success', action: 'delete' });

    expect(bad?.steps.map((s) => [s.name, s.failed])).toEqual([
      ['claim', false],
      ['handler', true],
      ['settle', false],
    ]);
    expect(bad?.end).toMatchObject({
      outcome: 'dead_lettered',
      action: 'dead_letter',
      reason: { code: 'PERMANENT_ERROR' },
      error: expect.any(PermanentError),
    });

    expect(duplicate?.steps.map((s) => s.name)).toEqual(['claim', 'settle']);
    expect(duplicate?.end).toMatchObject({ outcome: 'duplicate', action: 'delete' });
    expect(tracing.deliveries.every((d) => d.late === 0)).toBe(true);
  });

  it('hands the producer attributes to the tracer as the handler sees them', async () => {
    const tracing = recordingTracing();
    const t = twin(() => {}, { tracing });
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await t.queue.send({
      body: '{}',
      attributes: { traceparent: { dataType: 'String', stringValue: traceparent } },
    });
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'settled');
    await t.runtime.stop(1000);
    expect(tracing.deliveries[0]?.delivery.attributes).toEqual({ traceparent });
  });

  it('with tracing off, gives the deliveries no tracer to call', async () => {
    const tracing = { ...recordingTracing(), enabled: false };
    const start = jest.spyOn(tracing, 'startDelivery');
    const t = twin(() => {}, { tracing });
    await t.send([{ key: 'a' }]);
    await t.runtime.start();
    await until(() => t.settled.length === 1, 'settled');
    await t.runtime.stop(1000);
    expect(t.outcomes()).toEqual(['success']);
    expect(start).not.toHaveBeenCalled();
  });
});
