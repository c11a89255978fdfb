import { loadConfig } from '../../src/config/load.js';
import { PermanentError } from '../../src/core/errors.js';
import { seedAccess } from '../../src/http/access.js';
import { buildServer } from '../../src/http/server.js';
import type { StatusSnapshot } from '../../src/http/status-data.js';
import { keyAccess } from '../../src/http/status-access.js';
import { Buckets } from '../../src/observability/buckets.js';
import { percentile, RecentActivity } from '../../src/observability/recent.js';
import { BODY_CENSOR, MAX_ERROR_CHARS, redactErrorText } from '../../src/observability/redact-error.js';
import { settled, statusSetup, T0, testClock } from '../helpers/status-night.js';

/** The status page for the night shift (issue 21, item 5): its data, without a browser. */

const BODY = { rawBody: '{"card":"4111111111111111"}', body: { card: '4111111111111111' } };

async function status(deps: ReturnType<typeof statusSetup>['deps']): Promise<StatusSnapshot> {
  const res = await buildServer(deps).inject('/status.json');
  expect(res.statusCode).toBe(200);
  return res.json<StatusSnapshot>();
}

describe('failures, apart from successes', () => {
  it('keeps a dead letter through a flood of successes that pushes it out of the recent list', () => {
    const activity = new RecentActivity({ clock: testClock(), size: 20, failureSize: 5 });
    activity.record(settled({ key: 'poison', outcome: 'dead_lettered', reason: 'PERMANENT_ERROR' }));
    for (let i = 0; i < 1000; i++) activity.record(settled({ key: `ok-${i}`, outcome: 'success' }));
    expect(activity.recent().map((r) => r.key)).not.toContain('poison');
    expect(activity.failures()).toMatchObject([
      { key: 'poison', outcome: 'dead_lettered', reason: 'PERMANENT_ERROR' },
    ]);
  });

  it('keeps retries and lost leases, newest first, and no success or duplicate', () => {
    const activity = new RecentActivity({ clock: testClock() });
    activity.record(settled({ key: 'a', outcome: 'retry', reason: 'HANDLER_ERROR' }));
    activity.record(settled({ key: 'b', outcome: 'duplicate' }));
    activity.record(settled({ key: 'c', outcome: 'lease_lost', reason: 'LEASE_LOST' }));
    activity.record(settled({ key: 'd', outcome: 'success' }));
    expect(activity.failures().map((f) => [f.key, f.outcome])).toEqual([
      ['c', 'lease_lost'],
      ['a', 'retry'],
    ]);
  });

  it("shows the handler's error redacted, else the reason's log-safe message", () => {
    const activity = new RecentActivity({ clock: testClock(), redact: ['customerRef'] });
    const error = new Error(
      'charge failed for {"card":"4111111111111111"} token=abc123 customerRef: C-77 Authorization: Bearer eyJhbGci.x.y',
    );
    activity.record(
      settled({ key: 'k', outcome: 'retry', reason: 'HANDLER_ERROR', error, rawBody: BODY.rawBody }),
    );
    activity.record(settled({ key: 'm', outcome: 'dead_lettered', reason: 'SCHEMA_VIOLATION' }));
    const [schema, handler] = activity.failures();
    expect(schema?.error).toBe('SCHEMA_VIOLATION happened');
    expect(handler?.error).toBe(
      `Error: charge failed for ${BODY_CENSOR} token=[redacted] customerRef: [redacted] Authorization: [redacted] [redacted]`,
    );
  });
});

describe('redactErrorText', () => {
  it('takes out body strings, secrets by the log names, and keeps the rest', () => {
    const error = new PermanentError(
      'card 4111111111111111 refused; password="hunter2", user=ada, apiKey=k-1',
    );
    expect(redactErrorText(error, BODY)).toBe(
      `PermanentError: card ${BODY_CENSOR} refused; password=[redacted], user=ada, apiKey=[redacted]`,
    );
    expect(redactErrorText('plain "secret":"s3"', BODY)).toBe('plain "secret":[redacted]');
    // The record's fence is not a secret in the logs either.
    expect(redactErrorText('fencingToken=12', BODY)).toBe('fencingToken=12');
  });

  it('is cut to MAX_ERROR_CHARS', () => {
    expect(redactErrorText('x'.repeat(5000), BODY)).toHaveLength(MAX_ERROR_CHARS);
  });
});

describe('rates, handler times, oldest age and 15 minutes of history', () => {
  it('counts in against out per second, p50/p99 of handler runs, and the oldest age at receipt', () => {
    const clock = testClock(T0 + 100);
    const activity = new RecentActivity({ clock });
    for (let i = 0; i < 30; i++) activity.received({ sentAt: clock.ms - 2000 });
    activity.received({ sentAt: clock.ms - 95_000 }); // a message that waited 95 s in the queue
    for (let i = 1; i <= 100; i++)
      activity.record(settled({ key: `k${i}`, outcome: 'success', handlerMs: i }));
    expect(activity.handlerTimes()).toEqual({ runs: 100, p50Ms: 50, p99Ms: 99 });
    expect(activity.oldestAge()).toEqual({ seconds: 95, windowSeconds: 60 });
    expect(activity.perSecond().received.at(-1)).toBe(31);
    clock.ms += 61_000; // the minute of receipts is over: nothing received lately
    expect(activity.oldestAge().seconds).toBeNull();
    const history = activity.history();
    expect(history.received).toHaveLength(90);
    expect(history.bucketSeconds).toBe(10);
    expect(history.received.reduce((a, b) => a + b, 0)).toBe(31);
    expect(history.settled.reduce((a, b) => a + b, 0)).toBe(100);
    expect(Math.max(...history.oldestAgeSeconds)).toBe(95);
    clock.ms += 15 * 60_000;
    expect(activity.history().received.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('reports rates over 10 s and a state in /status.json', async () => {
    const setup = statusSetup();
    for (let i = 0; i < 50; i++) setup.activity.received({ sentAt: undefined });
    for (let i = 0; i < 20; i++) setup.activity.record(settled({ key: `k${i}`, outcome: 'success' }));
    setup.activity.record(settled({ key: 'bad', outcome: 'dead_lettered', reason: 'PERMANENT_ERROR' }));
    const s = await status(setup.deps);
    expect(s.rates).toEqual({ inPerSecond: 5, outPerSecond: 2.1 });
    expect(s.state).toBe('ok');
    expect(s.failures).toMatchObject([{ key: 'bad', reason: 'PERMANENT_ERROR' }]);
    expect(s.history.settled).toHaveLength(90);
  });

  it('percentile is nearest-rank', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
  });

  it('Buckets forget a bucket whose slot is reused a lap later', () => {
    const b = new Buckets(1000, 3, ['n'] as const);
    b.add('n', 0);
    b.add('n', 3000);
    expect(b.series(3000).values.n).toEqual([0, 0, 1]);
  });
});

describe('the headline state', () => {
  it('is a warning, not a green Ready, while the dead-letter queue holds messages', async () => {
    const setup = statusSetup();
    setup.gauge.set({ queue: 'main', state: 'visible' }, 0);
    setup.gauge.set({ queue: 'dlq', state: 'visible' }, 5);
    const s = await status(setup.deps);
    expect(s.state).toBe('warning');
    expect(s.problems).toEqual(['the dead-letter queue holds 5 messages']);
    const page = (await buildServer(setup.deps).inject('/')).body;
    expect(page).toContain('<div id="state-banner" class="banner state-warning">');
    expect(page).toContain('<span id="state-headline" class="big">Ready, with warnings</span>');
    expect(page).not.toContain('<span id="state-headline" class="big">Ready</span>');
  });

  it('is ok with an empty dead-letter queue, and not_ready when readiness fails', async () => {
    const setup = statusSetup();
    setup.gauge.set({ queue: 'dlq', state: 'visible' }, 0);
    expect((await status(setup.deps)).state).toBe('ok');
    setup.ready = { ok: false, checks: { poll: { ok: false, detail: 'down' } } };
    expect((await status(setup.deps)).state).toBe('not_ready');
  });
});

describe('the age of the queue depths', () => {
  it('says when they were last read, and marks them stale past 2 read intervals', async () => {
    let reads = {
      lastOkAt: T0 as number | undefined,
      failingSince: undefined as number | undefined,
      lastError: undefined as string | undefined,
    };
    const setup = statusSetup({ queueMetricsIntervalMs: 30_000, depthReads: () => reads });
    setup.gauge.set({ queue: 'main', state: 'visible' }, 3);
    let s = await status(setup.deps);
    expect(s.queues).toMatchObject({ lastReadAt: T0, stale: false, staleAfterSeconds: 60, readError: null });
    setup.clock.ms += 60_000;
    expect((await status(setup.deps)).queues.stale).toBe(false);
    setup.clock.ms += 1;
    reads = { ...reads, failingSince: T0 + 30_000, lastError: 'TimeoutError: socket hang up' };
    s = await status(setup.deps);
    expect(s.queues).toMatchObject({ stale: true, readError: 'TimeoutError: socket hang up' });
    expect(s.state).toBe('warning');
    expect(s.problems).toContain('queue depths are stale: the last successful read is too old');
    const page = (await buildServer(setup.deps).inject('/')).body;
    expect(page).toContain(
      '<p id="q-fresh" class="problem">STALE (older than 60 s): Last read 03:00:00 UTC, 60 s ago.',
    );
  });

  it('is stale when no read ever succeeded and one failed; never with QUEUE_METRICS_INTERVAL=0', async () => {
    const failing = { lastOkAt: undefined, failingSince: T0, lastError: 'x' };
    expect((await status(statusSetup({ depthReads: () => failing }).deps)).queues.stale).toBe(true);
    const off = statusSetup({ queueMetricsIntervalMs: 0, depthReads: () => failing });
    expect((await status(off.deps)).queues.stale).toBe(false);
  });
});

describe('the page', () => {
  it('gives every element a distinct id (the script finds each by it)', async () => {
    const setup = statusSetup();
    setup.activity.record(settled({ key: 'a', outcome: 'retry', reason: 'HANDLER_ERROR' }));
    const page = (await buildServer(setup.deps).inject('/')).body;
    const ids = [...page.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(40);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });
});

describe('STATUS_SHOW_KEYS', () => {
  const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';

  it('shows keys by its own setting, apart from SEED_ENABLED', () => {
    const prod = loadConfig({ SQS_QUEUE_URL: QUEUE, STATUS_SHOW_KEYS: 'true' });
    expect(seedAccess(prod)).toBeUndefined(); // /seed and /records stay closed
    expect(keyAccess(prod)).toMatchObject({ token: undefined }); // keys: loopback clients only
    expect(keyAccess(loadConfig({ SQS_QUEUE_URL: QUEUE }))).toBeUndefined(); // off by default outside embedded
    expect(keyAccess(loadConfig({}))).toBeDefined(); // on by default in embedded mode
    expect(keyAccess(loadConfig({ STATUS_SHOW_KEYS: 'false' }))).toBeUndefined();
  });

  it('when off, hides keys in the failures and the recent list, and says which setting', async () => {
    const setup = statusSetup({ keys: undefined });
    setup.activity.record(
      settled({ key: 'customer-42', outcome: 'dead_lettered', reason: 'PERMANENT_ERROR' }),
    );
    const s = await status(setup.deps);
    expect(s.recent).toBeNull();
    expect(s.recentHidden).toMatch(/STATUS_SHOW_KEYS/);
    expect(s.failures).toMatchObject([{ key: null, reason: 'PERMANENT_ERROR' }]);
    const page = (await buildServer(setup.deps).inject('/')).body;
    expect(page).not.toContain('customer-42');
    expect(page).toContain('<td class="key muted">hidden</td>');
  });
});
