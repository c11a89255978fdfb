import { Registry } from 'prom-client';
import { createWorker, PermanentError, type WorkerMessage } from '../../src/index.js';
import { fixture, receiveAll, send, useTestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';

describe('createWorker (the library API)', () => {
  const aws = useTestAws();

  it('runs a team handler with config overrides, and stops cleanly', async () => {
    const f = await fixture(aws);
    const registry = new Registry();
    const handled: WorkerMessage[] = [];
    const worker = createWorker({
      handler: (message) => {
        if (message.key === 'bad') throw new PermanentError('rejected by the team handler');
        handled.push(message);
      },
      env: { LOG_LEVEL: 'silent' },
      // The team's own clients and registry: nothing is read from process.env.
      overrides: { sqs: aws.sqs, dynamodb: aws.dynamodb, registry },
      config: {
        queueUrl: f.queueUrl,
        waitTimeSeconds: 1,
        http: { host: '127.0.0.1', port: 0 },
        idempotency: { table: f.table },
      },
    });
    const endpoints = await worker.start();
    expect(endpoints).toMatchObject({ queueUrl: f.queueUrl, dlqUrl: f.dlqUrl, embedded: false });
    await send(aws, f.queueUrl, [
      { body: '{"n":1}', key: 'good' },
      { body: '{"n":1}', key: 'good' },
      { body: '{"n":2}', key: 'bad' },
    ]);
    await eventually(async () => ((await receiveAll(aws, f.dlqUrl)).length === 1 ? true : undefined));
    await eventually(async () => (handled.length === 1 ? true : undefined));
    const duplicate = 'sqs_worker_messages_processed_total{outcome="duplicate"} 1';
    const metrics = await eventually(async () => {
      const text = await (await fetch(`${endpoints.http}/metrics`)).text();
      return text.includes(duplicate) ? text : undefined;
    });
    expect(metrics).toContain(duplicate);
    expect(await registry.getSingleMetricAsString('sqs_worker_messages_processed_total')).toContain(
      'outcome="success"} 1',
    );
    await worker.stop();
    // Injected clients are the caller's: still usable after the worker stopped.
    expect(await receiveAll(aws, f.queueUrl)).toEqual([]);
    expect(handled.map((m) => m.key)).toEqual(['good']);
  });
});
