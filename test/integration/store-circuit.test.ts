import { loadConfig } from '../../src/config/load.js';
import { FAILURES_TO_OPEN } from '../../src/worker/store-gate.js';
import { appOnEmulators, sample } from '../helpers/app.js';
import { fixture, fixtureEnv, queueCounts, receiveAll, send, useTestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';
import { useTcpProxy } from '../helpers/tcp-proxy.js';
import { TEST_ENV } from '../helpers/test-limits.js';

const VISIBILITY_SECONDS = 2;
const MAX_RECEIVE_COUNT = 5;
/** Failed probes waited for: at 1, 3, 7 and 15 s after opening, so the outage outlasts 7 visibility timeouts. */
const PROBES_FAILED = 4;

interface ReadyBody {
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/** Waits until /readyz answers `status` with a body that `holds`; resolves with the body. */
async function readiness(
  http: string,
  status: number,
  holds: (body: ReadyBody) => boolean = () => true,
): Promise<ReadyBody> {
  return eventually(async () => {
    const response = await fetch(`${http}/readyz`);
    const body = (await response.json()) as ReadyBody;
    return response.status === status && holds(body) ? body : undefined;
  }, 60_000);
}

describe('the store circuit breaker on the real emulators (DynamoDB behind a refusing proxy)', () => {
  const aws = useTestAws();
  const proxy = useTcpProxy(() => aws.emulators.dynamodbEndpoint);

  it('keeps a good message’s receive count small over an outage of many visibility timeouts, then handles it once', async () => {
    const f = await fixture(aws, { visibility: VISIBILITY_SECONDS, maxReceiveCount: MAX_RECEIVE_COUNT });
    const config = loadConfig({
      ...fixtureEnv(aws, f),
      AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
      SQS_VISIBILITY_TIMEOUT: String(VISIBILITY_SECONDS),
      RETRY_BACKOFF_BASE: '0.2',
      RETRY_BACKOFF_MAX: '0.5',
      // The outage is refused connections, which fail at once: no short timeout is needed to see
      // it, and after it a 0.5 s one failed the probes of a loaded machine (the emulator shares
      // jest's event loop), keeping the breaker open.
      ...TEST_ENV,
      AWS_MAX_ATTEMPTS: '2',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      SHUTDOWN_TIMEOUT: '5',
      QUEUE_METRICS_INTERVAL: '0',
      LOG_LEVEL: 'debug',
    });
    const { app, log, handled, stop } = appOnEmulators(aws, config);
    try {
      const { http } = await app.start();
      await readiness(http, 200);
      await proxy.refuse();
      await send(aws, f.queueUrl, [{ body: '{"n":1}', key: 'good' }]);

      // The table check fails too (store calls failing in a row); the store check says why nothing is received.
      const paused = await readiness(http, 503, (body) => body.checks.store?.ok === false);
      expect(paused.checks.store).toEqual({
        ok: false,
        detail: expect.stringMatching(/^receiving paused .*: the idempotency store fails.*ECONNREFUSED/),
      });
      const opened = log.lines().filter((l) => String(l.msg).startsWith('receiving paused'));
      expect(opened).toHaveLength(1);
      expect(opened[0]).toMatchObject({ level: 'warn', failures: FAILURES_TO_OPEN });
      // The outage goes on while the probes fail: 1 + 2 + 4 + 8 s, over 7 visibility timeouts.
      await eventually(async () => {
        const failed = log.lines().filter((l) => String(l.msg).startsWith('idempotency store probe failed'));
        return failed.length >= PROBES_FAILED ? true : undefined;
      }, 60_000);
      const metrics = await app.metrics.registry.metrics();
      expect(sample(metrics, 'sqs_worker_store_circuit_open')).toBe(1);
      expect(sample(metrics, 'sqs_worker_store_circuit_openings_total')).toBe(1);
      expect(handled).toEqual([]);
      // Received 3 times, each released at once: still in the queue (fauxqs counts a message whose
      // visibility timeout ran out as in flight until the next receive looks at it).
      const during = await queueCounts(aws, f.queueUrl);
      expect(during.visible + during.inFlight).toBe(1);
      expect(sample(metrics, 'sqs_worker_messages_received_total')).toBeLessThanOrEqual(FAILURES_TO_OPEN + 1);

      await proxy.pass();
      await eventually(async () => (handled.length > 0 ? true : undefined), 60_000);
      await eventually(async () => {
        const counts = await queueCounts(aws, f.queueUrl);
        return counts.visible === 0 && counts.inFlight === 0 ? true : undefined;
      });
      expect(handled.map((m) => m.key)).toEqual(['good']);
      // The deliveries that opened the breaker, perhaps one taken by the long poll already under
      // way then, and the one after recovery: never the outage's 7+ visibility timeouts' worth.
      expect(handled[0]?.receiveCount).toBeLessThanOrEqual(FAILURES_TO_OPEN + 2);
      expect(await receiveAll(aws, f.dlqUrl)).toEqual([]);
      const resumed = log.lines().find((l) => String(l.msg).startsWith('receiving resumed'));
      expect(resumed).toMatchObject({ level: 'info', by: expect.stringMatching(/^(probe|call)$/) });
      expect(sample(await app.metrics.registry.metrics(), 'sqs_worker_store_circuit_open')).toBe(0);
      await readiness(http, 200);
    } finally {
      await stop();
      await proxy.pass();
    }
  }, 120_000);
});
