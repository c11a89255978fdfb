import { mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { createSqsClient } from '../../src/aws/clients.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildServer } from '../../src/http/server.js';
import { startQueueDepthPoller } from '../../src/observability/sqs-metrics.js';
import { fixture, startTestAws } from '../helpers/aws.js';
import { useChromium, WAIT_MS, watchedPage } from '../helpers/browser.js';
import {
  settled,
  statusSetup,
  T0,
  testClock,
  type StatusSetup,
  type StatusSetupOptions,
} from '../helpers/status-night.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The status page for the night shift in Debian's Chromium: failures view, DLQ warning, stale
 * depths, flow and history numbers, hidden keys, and a 390 px wide screen. The page is served by
 * the real sidecar (buildServer) over sources the test controls with a clock it moves; the stale
 * depths come from the real poller reading fauxqs through a proxy the test cuts. Waits are
 * Playwright's own polling with a deadline; never a fixed sleep.
 *
 * Screenshots of the failure states go to STATUS_SCREENSHOT_DIR (`docs` for the docs' pictures:
 * `STATUS_SCREENSHOT_DIR=docs npm run test:browser`), else to a temporary folder.
 */

const SHOTS = resolve(process.env.STATUS_SCREENSHOT_DIR ?? join(tmpdir(), 'sqs-worker-status-shots'));
const CARD = '4111111111111111';
const TOKEN_VALUE = 'tok-9f8e7d6c';

/** The page's globals as far as the functions run in it use them (tsconfig has no DOM lib). */
declare const document: {
  getElementById(id: string): { textContent: string | null; className: string } | null;
  documentElement: { scrollWidth: number; clientWidth: number };
};

const browser = useChromium();
const servers: FastifyInstance[] = [];
/** Console errors and CSP violations of every page, which must stay empty. */
const problems: string[] = [];

async function serve(setup: StatusSetup): Promise<string> {
  const server = buildServer(setup.deps);
  servers.push(server);
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

async function open(url: string, width = 1100, javaScriptEnabled = true): Promise<Page> {
  const page = await watchedPage(browser, problems, { javaScriptEnabled, viewport: { width, height: 900 } });
  await page.goto(url);
  return page;
}

/** Until the script has rendered /status.json at least once. */
async function live(page: Page): Promise<void> {
  await page.waitForFunction(
    () => document.getElementById('updated')?.textContent?.startsWith('Live:'),
    null,
    {
      timeout: WAIT_MS,
    },
  );
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `status-page-${name}.png`);
  // The first 1,100 px of the page: the headline, failures, flow and queue depths.
  const width = page.viewportSize()?.width ?? 1100;
  await page.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width, height: 1100 } });
  expect(statSync(path).size).toBeGreaterThan(10_000);
}

/** Closes the page; it must have had no console error: no CSP violation, failed request or script error. */
async function finish(page: Page): Promise<void> {
  await page.context().close();
  expect(problems).toEqual([]);
}

const text = (page: Page, id: string) => page.locator(`#${id}`).innerText();

/** A worker's last hour in small: successes, one poison message, a retry with a leaky error. */
function busy(options: StatusSetupOptions = {}): StatusSetup {
  // Depths read a moment ago unless the test says otherwise.
  const fresh = { lastOkAt: T0 - 5_000, failingSince: undefined, lastError: undefined };
  const setup = statusSetup({ depthReads: () => fresh, ...options });
  const { activity, clock } = setup;
  for (let i = 0; i < 40; i++) activity.received({ sentAt: clock.ms - 4_000 });
  activity.record(
    settled({ key: 'order-poison-7', outcome: 'dead_lettered', reason: 'PERMANENT_ERROR', receiveCount: 1 }),
  );
  activity.record(
    settled({
      key: 'order-1234',
      outcome: 'retry',
      reason: 'HANDLER_ERROR',
      receiveCount: 3,
      rawBody: `{"card":"${CARD}"}`,
      error: new Error(`payment API 502 for {"card":"${CARD}"} with token=${TOKEN_VALUE}`),
    }),
  );
  for (let i = 1; i <= 500; i++) {
    activity.record(settled({ key: `order-ok-${i}`, outcome: 'success', handlerMs: i % 100 }));
  }
  setup.gauge.set({ queue: 'main', state: 'visible' }, 12);
  setup.gauge.set({ queue: 'dlq', state: 'visible' }, 0);
  return setup;
}

afterAll(async () => {
  for (const server of servers) await server.close();
});

beforeEach(() => {
  problems.length = 0;
});

describe('the status page for the night shift, in Chromium', () => {
  it('lists failures apart from 500 successes, with reason and a redacted error, never the body', async () => {
    const page = await open(await serve(busy()));
    await live(page);
    const rows = page.locator('#failure-rows tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).innerText()).toMatch(
      /order-1234\s+retry\s+HANDLER_ERROR\s+Error: payment API 502/,
    );
    expect(await rows.nth(0).innerText()).toContain(`for [body] with token=[redacted]`);
    expect(await rows.nth(1).innerText()).toMatch(/order-poison-7\s+dead_lettered\s+PERMANENT_ERROR/);
    // The recent list (20 of every outcome) lost them long ago.
    expect(await page.locator('#recent-rows').innerText()).not.toContain('order-poison-7');
    const html = await page.content();
    expect(html).not.toContain(CARD);
    expect(html).not.toContain(TOKEN_VALUE);
    await shot(page, 'failures');
    await finish(page);
  });

  it('shows a non-empty DLQ as a warning headline, live, and back to Ready when it empties', async () => {
    const setup = busy();
    setup.gauge.set({ queue: 'dlq', state: 'visible' }, 5);
    const page = await open(await serve(setup));
    await live(page);
    expect(await text(page, 'state-headline')).toBe('Ready, with warnings');
    expect(await page.locator('#state-banner').getAttribute('class')).toBe('banner state-warning');
    expect(await text(page, 'problems')).toBe('the dead-letter queue holds 5 messages');
    expect(await text(page, 'summary')).toContain(
      'Ready, with warnings: the dead-letter queue holds 5 messages.',
    );
    await shot(page, 'dlq-warning');
    setup.gauge.set({ queue: 'dlq', state: 'visible' }, 0);
    await page.waitForFunction(
      () => document.getElementById('state-headline')?.textContent === 'Ready',
      null,
      {
        timeout: WAIT_MS,
      },
    );
    expect(await page.locator('#state-banner').getAttribute('class')).toBe('banner state-ok');
    await finish(page);
  });

  it('marks the depths stale when SQS stops answering, with the time of the last good read', async () => {
    const aws = await startTestAws();
    const proxy = await TcpProxy.start(aws.emulators.sqsEndpoint);
    const sqs = createSqsClient({ ...aws.settings, sqsEndpoint: proxy.url });
    const clock = testClock(T0);
    try {
      const f = await fixture(aws);
      await aws.sqs.send(new SendMessageCommand({ QueueUrl: f.queueUrl, MessageBody: '{}' }));
      const setup = statusSetup({ clock, queueMetricsIntervalMs: 30_000 });
      const poller = startQueueDepthPoller({
        sqs,
        queues: { main: f.queueUrl, dlq: f.dlqUrl },
        intervalMs: 0, // no timer: the test reads as it moves the clock
        gauge: setup.gauge,
        logger: silentLogger,
        now: () => clock.now(),
      });
      const withReads = statusSetup({ clock, gauge: setup.gauge, depthReads: () => poller.reads() });
      await poller.readNow();
      const page = await open(await serve(withReads));
      await live(page);
      expect(await text(page, 'q-fresh')).toBe('Last read 03:00:00 UTC, 0 s ago.');
      expect(await text(page, 'q-main-visible')).toBe('1');

      await proxy.refuse();
      clock.ms += 61_000;
      await poller.readNow();
      await page.waitForFunction(() => document.getElementById('q-fresh')?.className === 'problem', null, {
        timeout: WAIT_MS,
      });
      expect(await text(page, 'q-fresh')).toMatch(
        /^STALE \(older than 60 s\): Last read 03:00:00 UTC, 61 s ago\. Reads fail: .*(ECONNREFUSED|connect)/i,
      );
      expect(await text(page, 'q-main-visible')).toBe('1'); // the last depths, kept
      expect(await text(page, 'state-headline')).toBe('Ready, with warnings');
      await shot(page, 'stale-depths');
      await finish(page);
      await poller.stop();
    } finally {
      sqs.destroy();
      await proxy.close();
      await aws.close();
    }
  });

  it('shows in against out, handler p50/p99, oldest age and 15 minutes of history', async () => {
    const setup = busy();
    setup.activity.received({ sentAt: setup.clock.ms - 95_000 });
    const page = await open(await serve(setup));
    await live(page);
    expect(await text(page, 'rate-in')).toBe('4.1');
    expect(await text(page, 'rate-out')).toBe('50.2');
    expect(await text(page, 'handler-p50')).toBe('49');
    expect(await text(page, 'handler-p99')).toBe('98');
    expect(await text(page, 'handler-runs')).toBe('500');
    expect(await text(page, 'oldest-age')).toBe('95.0');
    expect(await text(page, 'sum-received')).toBe('41');
    expect(await text(page, 'sum-settled')).toBe('502');
    expect(await text(page, 'sum-failed')).toBe('2');
    expect(await page.getByRole('heading', { name: 'Last 15 minutes' }).count()).toBe(1);
    const history = (await page.locator('#hist-settled').getAttribute('points')) ?? '';
    expect(history.split(' ')).toHaveLength(90);
    await finish(page);
  });

  it('hides keys when STATUS_SHOW_KEYS is off, and still lists the failures', async () => {
    const page = await open(await serve(busy({ keys: undefined })));
    await live(page);
    const first = page.locator('#failure-rows tr').first();
    expect(await first.innerText()).toMatch(/hidden\s+retry\s+HANDLER_ERROR/);
    expect(await page.content()).not.toContain('order-1234');
    await finish(page);
  });

  it('fits a 390 px screen without horizontal scroll, with and without JavaScript', async () => {
    const setup = busy();
    setup.activity.record(
      settled({
        key: `k-${'x'.repeat(300)}`,
        outcome: 'dead_lettered',
        reason: 'SCHEMA_VIOLATION',
        error: new Error(`a long error ${'word '.repeat(80)}`),
      }),
    );
    setup.gauge.set({ queue: 'dlq', state: 'visible' }, 5);
    const url = await serve(setup);
    for (const javaScript of [true, false]) {
      const page = await open(url, 390, javaScript);
      if (javaScript) await live(page);
      const widths = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(widths).toBeLessThanOrEqual(390);
      if (javaScript) await shot(page, '390px');
      await finish(page);
    }
  });
});
