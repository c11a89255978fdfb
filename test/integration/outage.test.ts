import { createDynamoClient } from '../../src/aws/clients.js';
import { DynamoDbIdempotencyStore } from '../../src/aws/dynamodb-store.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { appOnEmulators, sample, type AppOnEmulators } from '../helpers/app.js';
import {
  fixture,
  fixtureEnv,
  queueCounts,
  send,
  useTestAws,
  type Fixture,
  type TestAws,
} from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';
import { useTcpProxy } from '../helpers/tcp-proxy.js';

const TOKEN = 'outage-test-token-7d1e0c9b42';

/** Short timeouts, so an outage shows within a few seconds. */
const FAST = {
  AWS_CONNECT_TIMEOUT: '0.5',
  DYNAMODB_REQUEST_TIMEOUT: '0.5',
  SQS_REQUEST_TIMEOUT: '0.5',
  AWS_MAX_ATTEMPTS: '2',
  READY_MAX_STORE_FAILURES: '2',
  READY_MAX_POLL_FAILURES: '2',
};

interface Running extends AppOnEmulators {
  readonly config: Config;
  readonly http: string;
}

/** The app on a fixture, with one of its AWS endpoints behind the proxy; resolves once ready. */
async function startApp(aws: TestAws, f: Fixture, endpoints: Record<string, string>): Promise<Running> {
  const config = loadConfig({
    ...fixtureEnv(aws, f),
    // A claim that failed may have landed: the message is held until its lease could lapse.
    SQS_VISIBILITY_TIMEOUT: '4',
    RETRY_BACKOFF_BASE: '0.2',
    RETRY_BACKOFF_MAX: '0.5',
    SEED_ENABLED: 'true',
    SEED_TOKEN: TOKEN,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    SHUTDOWN_TIMEOUT: '5',
    QUEUE_METRICS_INTERVAL: '0',
    LOG_LEVEL: 'info',
    ...FAST,
    ...endpoints,
  });
  const running = appOnEmulators(aws, config);
  const { http } = await running.app.start();
  await readiness(http, 200);
  return { ...running, config, http };
}

/** Waits until /readyz answers `status`; resolves with its body. */
function readiness(
  http: string,
  status: number,
): Promise<{ checks: Record<string, { ok: boolean; detail?: string }> }> {
  return eventually(async () => {
    const response = await fetch(`${http}/readyz`);
    const body = (await response.json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
    return response.status === status ? body : undefined;
  });
}

describe('a DynamoDB outage behind a TCP proxy', () => {
  const aws = useTestAws();
  const proxy = useTcpProxy(() => aws.emulators.dynamodbEndpoint);

  afterEach(async () => {
    await proxy.pass();
  });

  it('rejects a claim against a stalled store with StoreUnavailableError, while the stall lasts', async () => {
    const f = await fixture(aws);
    const config = loadConfig({ ...FAST, AWS_ENDPOINT_URL_DYNAMODB: proxy.url });
    const client = createDynamoClient({
      ...aws.settings,
      dynamodbEndpoint: proxy.url,
      awsCalls: config.awsCalls,
    });
    const store = new DynamoDbIdempotencyStore(client, f.table);
    const now = Date.now();
    const request = {
      pk: `${f.name}#k`,
      owner: 'w1',
      payloadHash: 'h',
      now,
      leaseExpiresAtMs: now + 30_000,
      expiresAt: Math.floor(now / 1000) + 3600,
    };
    try {
      proxy.stall();
      const error = await store.claim(request).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Settled while the proxy still answers nothing: the timeout ended it, not the proxy.
      expect(proxy.mode).toBe('stall');
      expect(proxy.stalledConnections).toBeGreaterThanOrEqual(1);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).cause).toMatchObject({ name: 'TimeoutError' });
      await proxy.pass();
      // Still FAST's 0.5 s per request, which a loaded machine can overrun: the claim is asked
      // again until it is answered, as a worker would (a retry meets its own write and is the
      // same success).
      const claimed = await eventually(() => store.claim(request).catch(() => undefined));
      expect(claimed).toMatchObject({ kind: 'acquired' });
    } finally {
      client.destroy();
    }
  });

  it('turns a stall into 503s and STORE_UNAVAILABLE retries, and handles the message once after', async () => {
    const f = await fixture(aws);
    const running = await startApp(aws, f, { AWS_ENDPOINT_URL_DYNAMODB: proxy.url });
    try {
      proxy.stall();
      const records = await fetch(`${running.http}/records`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(proxy.mode).toBe('stall');
      expect(records.status).toBe(503);
      expect(((await records.json()) as { message: string }).message).toMatch(
        /idempotency store list failed/,
      );

      await send(aws, f.queueUrl, [{ body: '{"n":1}', key: 'during-stall' }]);
      const retried = await eventually(async () =>
        running.log
          .lines()
          .find((line) => line.key === 'during-stall' && line.reason === 'STORE_UNAVAILABLE'),
      );
      expect(retried).toMatchObject({ outcome: 'retry', action: 'release' });
      const notReady = await readiness(running.http, 503);
      expect(notReady.checks.table).toEqual({
        ok: false,
        detail: expect.stringMatching(/store calls in a row failed/),
      });
      expect(running.handled).toEqual([]);

      await proxy.pass();
      await readiness(running.http, 200);
      await eventually(async () => (running.handled.length > 0 ? true : undefined));
      await eventually(async () => {
        const counts = await queueCounts(aws, f.queueUrl);
        return counts.visible === 0 && counts.inFlight === 0 ? true : undefined;
      });
      expect(running.handled.map((m) => m.key)).toEqual(['during-stall']);
      const metrics = await (await fetch(`${running.http}/metrics`)).text();
      expect(
        sample(metrics, 'sqs_worker_messages_processed_total', 'outcome="retry"'),
      ).toBeGreaterThanOrEqual(1);
      expect(sample(metrics, 'sqs_worker_messages_processed_total', 'outcome="success"')).toBe(1);
    } finally {
      await running.stop();
    }
  });

  it('goes unready while connections are refused, and ready after the first successes', async () => {
    const f = await fixture(aws);
    const running = await startApp(aws, f, { AWS_ENDPOINT_URL_DYNAMODB: proxy.url });
    try {
      await proxy.refuse();
      await send(aws, f.queueUrl, [{ body: '{"n":2}', key: 'refused' }]);
      const notReady = await readiness(running.http, 503);
      expect(notReady.checks.table?.detail).toMatch(/ECONNREFUSED/);
      await proxy.pass();
      await readiness(running.http, 200);
      await eventually(async () => (running.handled.length === 1 ? true : undefined));
    } finally {
      await running.stop();
    }
  });
});

describe('an SQS outage behind a TCP proxy', () => {
  const aws = useTestAws();
  const proxy = useTcpProxy(() => aws.emulators.sqsEndpoint);

  it.each(['stall', 'refuse'] as const)(
    'fails readiness on receive failures when SQS connections %s, with one log line for many failures',
    async (mode) => {
      const f = await fixture(aws);
      const running = await startApp(aws, f, { AWS_ENDPOINT_URL_SQS: proxy.url });
      try {
        if (mode === 'stall') proxy.stall();
        else await proxy.refuse();
        const notReady = await readiness(running.http, 503);
        expect(notReady.checks.poll).toEqual({
          ok: false,
          detail: expect.stringMatching(/receive failures in a row \(network\)/),
        });
        const failures = sample(
          await running.app.metrics.registry.metrics(),
          'sqs_worker_poll_errors_total',
          'reason="network"',
        );
        expect(failures).toBeGreaterThanOrEqual(2);
        const lines = running.log.lines().filter((line) => String(line.msg).startsWith('receive failed'));
        // Metrics count every failure; the log wrote the first one, and holds the rest for 10 s.
        expect(lines.length).toBeLessThan(failures ?? 0);
        await proxy.pass();
        await readiness(running.http, 200);
      } finally {
        await running.stop();
      }
    },
  );
});
