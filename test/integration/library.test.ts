import { createWorker, PermanentError, type WorkerMessage } from '../../src/index.js';
import { fixture, receiveAll, send, startTestAws, type TestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';

describe('createWorker (the library API)', () => {
  let aws: TestAws;

  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  beforeAll(async () => {
    aws = await startTestAws();
    // Credentials come from the AWS SDK's default chain (process.env here), not from `env`.
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
  });

  afterAll(async () => {
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await aws.close();
  });

  it('runs a team handler with config overrides, and stops cleanly', async () => {
    const f = await fixture(aws);
    const handled: WorkerMessage[] = [];
    const worker = createWorker({
      handler: (message) => {
        if (message.key === 'bad') throw new PermanentError('rejected by the team handler');
        handled.push(message);
      },
      env: {
        AWS_ENDPOINT_URL_SQS: aws.settings.sqsEndpoint,
        AWS_ENDPOINT_URL_DYNAMODB: aws.settings.dynamodbEndpoint,
        LOG_LEVEL: 'silent',
      },
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
    const metrics = await (await fetch(`${endpoints.http}/metrics`)).text();
    expect(metrics).toContain('sqs_worker_messages_processed_total{outcome="duplicate"} 1');
    await worker.stop();
    expect(handled.map((m) => m.key)).toEqual(['good']);
  });
});
