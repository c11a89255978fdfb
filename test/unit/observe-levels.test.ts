import { jest } from '@jest/globals';
import type { MessageAttributes } from '../../src/core/queue.js';
import { RetryableError } from '../../src/core/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { observeRuntime } from '../../src/observability/observe.js';
import { MemoryLog } from '../helpers/app.js';
import { twin, until } from '../helpers/runtime-twin.js';

/**
 * Issue 11: at LOG_LEVEL=info a message handled as usual writes no line (a line per message was
 * most of the worker's logging CPU); it is counted in sqs_worker_messages_processed_total, and
 * at debug it is written. Any other outcome is written at warn (or error) whatever the level.
 */

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

const key = (value: string): MessageAttributes => ({
  IdempotencyKey: { dataType: 'String', stringValue: value },
});

async function run(level: string) {
  const log = new MemoryLog();
  const logger = createLogger(level, log);
  const t = twin(
    async (message) => {
      if (message.key === 'fails') throw new RetryableError('try later', { retryAfterMs: 60_000 });
    },
    { logger },
  );
  const metrics = createMetrics('test');
  observeRuntime(t.runtime, metrics, logger);
  await t.queue.send({ body: '{"n":1}', attributes: key('works') });
  await t.queue.send({ body: '{"n":1}', attributes: key('works') });
  await t.queue.send({ body: '{"n":3}', attributes: key('fails') });
  await t.runtime.start();
  await until(() => t.settled.length === 3, 'all three settled');
  await t.runtime.stop(1000);
  const outcomes = log
    .lines()
    .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('message '))
    .map((l) => [l.level, l.msg, l.key])
    .sort();
  const counted = await metrics.registry.getSingleMetricAsString('sqs_worker_messages_processed_total');
  return { outcomes, counted };
}

describe('per-message outcome lines', () => {
  it('at info: none for success and duplicate (counted in the metric), a warn line for a retry', async () => {
    const { outcomes, counted } = await run('info');
    expect(outcomes).toEqual([['warn', 'message retry', 'fails']]);
    expect(counted).toContain('sqs_worker_messages_processed_total{outcome="success"} 1');
    expect(counted).toContain('sqs_worker_messages_processed_total{outcome="duplicate"} 1');
    expect(counted).toContain('sqs_worker_messages_processed_total{outcome="retry"} 1');
  });

  it('at debug: one line per message, success and duplicate included', async () => {
    const { outcomes } = await run('debug');
    expect(outcomes).toEqual([
      ['debug', 'message duplicate', 'works'],
      ['debug', 'message success', 'works'],
      ['warn', 'message retry', 'fails'],
    ]);
  });
});
