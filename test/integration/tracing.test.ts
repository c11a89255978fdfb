import { resolve } from 'node:path';
import { jest } from '@jest/globals';
import { trace } from '@opentelemetry/api';
import { RECEIVED_SYSTEM_ATTRIBUTES, toReceivedMessage } from '../../src/aws/sqs-queue.js';
import { loadConfig } from '../../src/config/load.js';
import { PermanentError } from '../../src/core/errors.js';
import type { Handler } from '../../src/core/handler.js';
import { silentLogger } from '../../src/core/logger.js';
import type { ReceivedMessage } from '../../src/core/queue.js';
import { receivedMessage } from '../helpers/fakes.js';
import { noTracing } from '../../src/core/tracing.js';
import { createOtelTracing, fromXRayHeader } from '../../src/observability/otel.js';
import { startTracing, tracesUrl } from '../../src/observability/tracing.js';
import { startEmbeddedApp, type RunningApp } from '../helpers/app.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { eventually, runCli, EMBEDDED_ON_FREE_PORTS } from '../helpers/process.js';

/**
 * Traces (issue 14) against a real OTLP/HTTP receiver started here: the app in embedded mode
 * (fauxqs, dynalite) exports with the real exporter, and the receiver decodes what it POSTs.
 */

const CONSUMER = 5;
const PRODUCER = 4;
const ERROR = 2;

/** Settings as the config loader makes them from these variables. */
const settingsOf = (env: Record<string, string>) => loadConfig(env).tracing;

const otelEnv = (receiver: OtlpReceiver): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_BSP_SCHEDULE_DELAY: '20',
  OTEL_SERVICE_NAME: 'tracing-test',
});

async function seed(app: RunningApp, messages: unknown[]): Promise<void> {
  const response = await fetch(`${app.http}/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages }),
  });
  expect(response.ok).toBe(true);
}

const byKey = (spans: readonly ReceivedSpan[], key: string) =>
  spans.find((s) => s.kind === CONSUMER && s.attributes['sqs_worker.idempotency.key'] === key);
const childrenOf = (spans: readonly ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

describe('tracing switched by the OTEL_* variables', () => {
  it('is off without an exporter or endpoint, or when disabled, and on otherwise', () => {
    expect(tracesUrl(settingsOf({}))).toBeUndefined();
    expect(tracesUrl(settingsOf({ OTEL_SERVICE_NAME: 'x' }))).toBeUndefined();
    expect(tracesUrl(settingsOf({ OTEL_TRACES_EXPORTER: 'otlp' }))).toBe('http://localhost:4318/v1/traces');
    expect(tracesUrl(settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }))).toBe(
      'http://c:4318/v1/traces',
    );
    expect(
      tracesUrl(
        settingsOf({
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:9/traces',
        }),
      ),
    ).toBe('http://t:9/traces');
    expect(
      tracesUrl(settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })),
    ).toBeUndefined();
    expect(
      tracesUrl(settingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })),
    ).toBeUndefined();
  });

  it('rejects a bad variable, naming it', () => {
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER/);
  });

  it('loads no OpenTelemetry module when off, and the implementation once when on', async () => {
    const load = jest.fn(() => import('../../src/observability/otel.js'));
    const off = await startTracing(settingsOf({}), { logger: silentLogger, serviceVersion: '0', load });
    expect(off).toBe(noTracing);
    expect(load).not.toHaveBeenCalled();
    const receiver = await startOtlpReceiver();
    try {
      const on = await startTracing(settingsOf(otelEnv(receiver)), {
        logger: silentLogger,
        serviceVersion: '0',
        load,
      });
      expect(on.enabled).toBe(true);
      expect(load).toHaveBeenCalledTimes(1);
      await on.shutdown(1000);
    } finally {
      await receiver.close();
    }
  });
});

describe('producer context from the message', () => {
  const received = receivedMessage;

  it("reads an X-Ray AWSTraceHeader as the producer's span context", () => {
    expect(
      fromXRayHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'),
    ).toEqual({
      traceId: '5759e988bd862e3fe1be46a994272793',
      spanId: '53995c3f42cd8ad8',
      traceFlags: 1,
      isRemote: true,
    });
    expect(fromXRayHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1')).toBeUndefined();
    expect(fromXRayHeader('Root=1-xyz;Parent=53995c3f42cd8ad8')).toBeUndefined();
  });

  it('takes the AWSTraceHeader system attribute from an SQS message (fauxqs drops it, so here by hand)', () => {
    const header = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    const message = toReceivedMessage({
      MessageId: 'm-1',
      ReceiptHandle: 'r',
      Body: '{}',
      Attributes: { ApproximateReceiveCount: '1', AWSTraceHeader: header },
    });
    expect(message.awsTraceHeader).toBe(header);
    expect(RECEIVED_SYSTEM_ATTRIBUTES).toContain('AWSTraceHeader');
  });

  it('links each delivery span to the traceparent, else to the AWSTraceHeader, and exports it', async () => {
    const receiver = await startOtlpReceiver();
    const tracing = createOtelTracing(settingsOf(otelEnv(receiver)), {
      url: `${receiver.url}/v1/traces`,
      serviceVersion: '0',
    });
    try {
      const w3c = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const xray = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
      const deliveries: (Partial<ReceivedMessage> & { key: string })[] = [
        {
          key: 'both',
          attributes: { traceparent: { dataType: 'String', stringValue: w3c } },
          awsTraceHeader: xray,
        },
        { key: 'xray', attributes: {}, awsTraceHeader: xray },
        { key: 'none', attributes: {} },
      ];
      for (const { key, ...extra } of deliveries) {
        const message = received(extra);
        const attributes = Object.fromEntries(
          Object.entries(message.attributes).map(([name, value]) => [name, value.stringValue ?? '']),
        );
        const span = tracing.startDelivery({ received: message, attributes, key, destination: 'q' });
        span.end({ outcome: 'success', action: 'delete' });
      }
      await tracing.shutdown(5000);
      const spans = await receiver.waitFor((s) => s.length >= 3, 'three delivery spans');
      expect(byKey(spans, 'both')?.links).toEqual([
        { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' },
      ]);
      expect(byKey(spans, 'xray')?.links).toEqual([
        { traceId: '5759e988bd862e3fe1be46a994272793', spanId: '53995c3f42cd8ad8' },
      ]);
      expect(byKey(spans, 'none')?.links).toEqual([]);
      expect(receiver.requests.every((r) => r.contentType === 'application/json')).toBe(true);
    } finally {
      await tracing.shutdown(1000);
      await receiver.close();
    }
  });
});

describe('traces of the embedded app, exported to an OTLP receiver', () => {
  let receiver: OtlpReceiver;
  let app: RunningApp;
  let queueName: string;
  /** The handler's own span, started through @opentelemetry/api after an await. */
  const handler: Handler = async (message) => {
    await new Promise((r) => setImmediate(r));
    await trace.getTracer('test-handler').startActiveSpan('handler-own-work', async (span) => {
      await new Promise((r) => setImmediate(r));
      span.end();
    });
    if ((message.body as { fail?: boolean }).fail) throw new PermanentError('refused by the test');
    return { ok: true };
  };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    app = await startEmbeddedApp(otelEnv(receiver), { handler });
    queueName = app.endpoints.queueUrl.split('/').pop() ?? '';
  });

  afterAll(async () => {
    await app?.app.stop();
    await receiver?.close();
  });

  it('gives a seeded message a CONSUMER span linked to the seed, with claim, handler and settle spans', async () => {
    await seed(app, [{ body: { n: 1 }, key: 'traced-1' }]);
    const spans = await receiver.waitFor(
      (s) => byKey(s, 'traced-1') !== undefined && s.some((x) => x.name === 'handler-own-work'),
      'the delivery span of traced-1 and the handler own span',
    );
    const delivery = byKey(spans, 'traced-1')!;
    const producer = spans.find((s) => s.kind === PRODUCER);
    expect(producer).toMatchObject({
      name: `send ${queueName}`,
      attributes: expect.objectContaining({ 'messaging.destination.name': queueName }),
    });
    expect(delivery).toMatchObject({
      name: `process ${queueName}`,
      parentSpanId: '',
      links: [{ traceId: producer!.traceId, spanId: producer!.spanId }],
      scope: 'sqs-idempotent-worker',
      resource: expect.objectContaining({ 'service.name': 'tracing-test' }),
    });
    expect(delivery.attributes).toMatchObject({
      'messaging.system': 'aws_sqs',
      'messaging.system.name': 'aws.sqs',
      'messaging.operation.type': 'process',
      'messaging.destination.name': queueName,
      'messaging.message.id': expect.any(String),
      'sqs_worker.message.receive_count': 1,
      'sqs_worker.outcome': 'success',
      'sqs_worker.action': 'delete',
    });
    expect(delivery.attributes['sqs_worker.reason']).toBeUndefined();
    const steps = childrenOf(spans, delivery);
    expect(steps.map((s) => s.name).sort()).toEqual(['claim', 'handler', 'settle']);
    expect(steps.find((s) => s.name === 'claim')?.attributes).toMatchObject({
      'sqs_worker.claim.result': 'acquired',
      'sqs_worker.claim.attempt': 1,
    });
    expect(steps.find((s) => s.name === 'settle')?.attributes).toMatchObject({
      'messaging.operation.type': 'settle',
      'sqs_worker.settle.action': 'delete',
    });
    // The handler ran in its span's context: its own span (after awaits) nests under it.
    const handlerSpan = steps.find((s) => s.name === 'handler')!;
    const own = spans.find((s) => s.name === 'handler-own-work' && s.traceId === delivery.traceId);
    expect(own).toMatchObject({ parentSpanId: handlerSpan.spanId, scope: 'test-handler' });
  });

  it('links the deliveries of what `sqs-worker produce` sent to its send span (dist/)', async () => {
    const cli = runCli(['produce', '--count', '2'], {
      SQS_QUEUE_URL: app.endpoints.queueUrl,
      AWS_ENDPOINT_URL_SQS: app.endpoints.sqsEndpoint ?? '',
      AWS_ENDPOINT_URL_DYNAMODB: app.endpoints.dynamodbEndpoint ?? '',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'producer-cli',
    });
    expect((await cli.exit()).code).toBe(0);
    const fromCli = (s: ReceivedSpan) => s.kind === PRODUCER && s.resource['service.name'] === 'producer-cli';
    const linked = (spans: readonly ReceivedSpan[], send: ReceivedSpan) =>
      spans.filter((s) => s.kind === CONSUMER && s.links.some((l) => l.spanId === send.spanId));
    const spans = await receiver.waitFor((s) => {
      const send = s.find(fromCli);
      return send !== undefined && linked(s, send).length === 2;
    }, "the produce command's send span and the two deliveries linked to it");
    const send = spans.find(fromCli)!;
    expect(send.name).toBe(`send ${queueName}`);
    expect(linked(spans, send).map((s) => s.attributes['sqs_worker.outcome'])).toEqual([
      'success',
      'success',
    ]);
  });

  it('records the outcome, the reason and the error of a dead-lettered message', async () => {
    await seed(app, [{ body: { fail: true }, key: 'traced-fail' }]);
    const spans = await receiver.waitFor((s) => byKey(s, 'traced-fail') !== undefined, 'the failed delivery');
    const delivery = byKey(spans, 'traced-fail')!;
    expect(delivery.attributes).toMatchObject({
      'sqs_worker.outcome': 'dead_lettered',
      'sqs_worker.action': 'dead_letter',
      'sqs_worker.reason': 'PERMANENT_ERROR',
      'error.type': 'PermanentError',
    });
    expect(delivery.status.code).toBe(ERROR);
    expect(delivery.events.map((e) => e.name)).toContain('exception');
    const handlerSpan = childrenOf(spans, delivery).find((s) => s.name === 'handler')!;
    expect(handlerSpan.status.code).toBe(ERROR);
    expect(childrenOf(spans, delivery).find((s) => s.name === 'settle')?.attributes).toMatchObject({
      'sqs_worker.settle.action': 'dead_letter',
    });
  });

  it('gives a duplicate its claim span and no handler span', async () => {
    await seed(app, [{ body: { n: 1 }, key: 'traced-1' }]);
    const spans = await receiver.waitFor(
      (s) => s.some((x) => x.attributes['sqs_worker.outcome'] === 'duplicate'),
      'the duplicate delivery',
    );
    const duplicate = spans.find((s) => s.attributes['sqs_worker.outcome'] === 'duplicate')!;
    const steps = childrenOf(spans, duplicate);
    expect(steps.map((s) => s.name).sort()).toEqual(['claim', 'settle']);
    expect(steps.find((s) => s.name === 'claim')?.attributes['sqs_worker.claim.result']).toBe('duplicate');
  });
});

describe('a collector that never answers', () => {
  it('neither holds up messages nor fails the stop, and is logged', async () => {
    const dark = await startOtlpReceiver('hang');
    const handled: string[] = [];
    const app = await startEmbeddedApp(
      { ...otelEnv(dark), OTEL_EXPORTER_OTLP_TIMEOUT: '3000' },
      { handler: async (m) => void handled.push(m.key) },
    );
    try {
      await seed(app, [
        { body: { n: 1 }, key: 'dark-1' },
        { body: { n: 2 }, key: 'dark-2' },
      ]);
      await eventually(async () => (handled.length === 2 ? true : undefined));
      await eventually(async () => (dark.requests.length > 0 ? true : undefined));
      // The export that timed out is said, once (rate-limited), as a warning of ours.
      const said = () => app.log.lines().filter((l) => String(l.msg).startsWith('tracing: '));
      await eventually(async () => (said().length > 0 ? true : undefined));
      expect(said()[0]).toMatchObject({ level: 'warn' });
    } finally {
      // Resolves (STOP_TIMEOUT would reject) although the export in flight never gets an answer.
      await app.app.stop();
      await dark.close();
    }
    expect(handled.sort()).toEqual(['dark-1', 'dark-2']);
  });
});

describe('the sqs-worker process (dist/)', () => {
  const RECORD = resolve('test/fixtures/record-otel-imports.mjs');

  async function run(env: Record<string, string>): Promise<{ stderr: string; code: number | null }> {
    const child = runCli(
      ['start'],
      {
        ...EMBEDDED_ON_FREE_PORTS,
        SQS_WAIT_TIME_SECONDS: '1',
        LOG_LEVEL: 'debug',
        ...env,
      },
      { nodeArgs: ['--import', RECORD] },
    );
    try {
      const started = await child.waitForLine((l) => l.msg === 'worker started');
      const response = await fetch(`${String(started.http)}/seed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ body: { n: 1 }, key: 'process-1' }] }),
      });
      expect(response.ok).toBe(true);
      await child.waitForLine((l) => l.key === 'process-1' && l.outcome === 'success');
    } finally {
      child.child.kill('SIGTERM');
    }
    const { code } = await child.exit();
    return { stderr: child.stderr(), code };
  }

  it('loads no OpenTelemetry module when tracing is off, and the SDK and exporter when on', async () => {
    const off = await run({});
    expect(off.code).toBe(0);
    // prom-client loads the API (the no-op facade) whatever we do; none of the SDK, exporter,
    // propagator, resources or conventions may be loaded.
    const loaded = (stderr: string) =>
      stderr.split('\n').flatMap((line) => (line.startsWith('otel-import ') ? [line.slice(12)] : []));
    expect(loaded(off.stderr).filter((name) => name !== '@opentelemetry/api')).toEqual([]);
    const receiver = await startOtlpReceiver();
    try {
      const on = await run({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
      expect(on.code).toBe(0);
      expect(loaded(on.stderr)).toEqual(
        expect.arrayContaining(['@opentelemetry/sdk-trace', '@opentelemetry/exporter-trace-otlp-http']),
      );
      // Flushed at stop: the delivery's span reached the receiver.
      expect(receiver.spans.some((s) => s.attributes['sqs_worker.idempotency.key'] === 'process-1')).toBe(
        true,
      );
    } finally {
      await receiver.close();
    }
  });
});
