import { mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { PurgeQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Page } from 'playwright-core';
import { createSqsClient } from '../../src/aws/clients.js';
import { useEmbeddedApp } from '../helpers/app.js';
import { useChromium, WAIT_MS, watchedPage } from '../helpers/browser.js';
import { eventually } from '../helpers/process.js';
import { STATUS_HEADINGS } from '../helpers/sidecar.js';

/**
 * The status page in Debian's Chromium, driven by playwright-core, against the whole app in
 * embedded mode (fauxqs and dynalite in this process). Waits are Playwright's own polling
 * (waitForFunction, waitForURL) or `eventually`, each with a deadline; never a fixed sleep.
 */

/**
 * Where the screenshot goes. README's picture is made with
 * `STATUS_SCREENSHOT=docs/status-page.png npm run test:browser`.
 */
const SCREENSHOT = resolve(process.env.STATUS_SCREENSHOT ?? `${tmpdir()}/sqs-worker-status-page.png`);
const HOSTILE_KEY = `<img src=x onerror="window.__pwned=1">"'&`;

/** The page's globals as far as the functions run in it use them (tsconfig has no DOM lib). */
declare const document: {
  getElementById(id: string): { textContent: string | null } | null;
  documentElement: { scrollWidth: number };
};
declare const window: { scrollTo(x: number, y: number): void; __pwned?: number };

const browser = useChromium();
const running = useEmbeddedApp({ QUEUE_METRICS_INTERVAL: '1' });
/** Console errors and CSP violations of every page, which must stay empty. */
const problems: string[] = [];

function open(javaScriptEnabled: boolean, width = 1100): Promise<Page> {
  return watchedPage(browser, problems, {
    javaScriptEnabled,
    viewport: { width, height: 900 },
    colorScheme: 'light',
  });
}

const text = (page: Page, id: string) => page.locator(`#${id}`).innerText();

beforeEach(() => {
  problems.length = 0;
});

describe('the status page in Chromium', () => {
  it('shows every section, goes live, seeds through the form and sees the counters move', async () => {
    const page = await open(true);
    await page.goto(`${running.http}/`);
    expect(await page.title()).toBe('Worker status · sqs-idempotent-worker');
    for (const name of STATUS_HEADINGS) {
      await page.getByRole('heading', { name, exact: true }).waitFor({ timeout: WAIT_MS });
    }
    // The inline script runs under the page's CSP and polls /status.json.
    await page.waitForFunction(
      () => document.getElementById('updated')?.textContent?.startsWith('Live:'),
      null,
      {
        timeout: WAIT_MS,
      },
    );
    expect(await page.getByRole('img', { name: /Messages settled per second/ }).count()).toBe(1);
    expect(await text(page, 'ready-status')).toBe('Ready');
    expect(await text(page, 'total-success')).toBe('0');

    await page.getByLabel('Messages (distinct keys)').fill('10');
    await page.getByLabel('Duplicates (keys sent again)').fill('3');
    await page.getByRole('button', { name: 'Seed' }).click();
    await page.waitForURL(/\/\?seeded=13&unique=10&duplicates=3#seed-result$/, { timeout: WAIT_MS });
    expect(await text(page, 'seed-result')).toContain('Sent 13 messages: 10 keys, 3 of them sent again');

    // The live script moves the counters, the chart and the table as the worker settles them.
    await page.waitForFunction(
      () =>
        document.getElementById('total-success')?.textContent === '10' &&
        document.getElementById('total-duplicate')?.textContent === '3',
      null,
      { timeout: WAIT_MS },
    );
    expect(await text(page, 'summary')).toBe(
      'Settled since start: 10 success, 3 duplicate. In flight: 0 of 50. Ready.',
    );
    expect(await page.locator('#recent-rows tr').count()).toBe(13);
    const points = (await page.locator('#line-success').getAttribute('points')) ?? '';
    const heights = points.split(' ').map((p) => Number(p.split(',')[1]));
    expect(Math.min(...heights)).toBeLessThan(150); // some second above the baseline (y=150)
    await page.waitForFunction(
      () => /^\d+$/.test(document.getElementById('q-main-visible')?.textContent ?? ''),
      null,
      {
        timeout: WAIT_MS,
      },
    );

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    // The first screen: the live parts (the whole page is about twice as tall, and as heavy).
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SCREENSHOT });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    await page.context().close();
    // No console error: no CSP violation, no failed request, no script error.
    expect(problems).toEqual([]);
  });

  it('shows a hostile key as text, never as markup, in both the rendered and the live table', async () => {
    const page = await open(true);
    await page.goto(`${running.http}/`);
    const seeded = await fetch(`${running.http}/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ body: { n: 1 }, key: HOSTILE_KEY }] }),
    });
    expect(seeded.status).toBe(202);
    const live = page.locator('#recent-rows td.key', { hasText: HOSTILE_KEY });
    await live.first().waitFor({ timeout: WAIT_MS });
    await page.reload();
    await page.locator('#recent-rows td.key', { hasText: HOSTILE_KEY }).first().waitFor({ timeout: WAIT_MS });
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    expect(await page.locator('#recent-rows img').count()).toBe(0);
    await page.context().close();
    // No console error: no CSP violation, no failed request, no script error.
    expect(problems).toEqual([]);
  });

  it('works without JavaScript: the page renders and the form seeds', async () => {
    const page = await open(false);
    await page.goto(`${running.http}/`);
    await page.getByRole('heading', { name: 'Queue depth' }).waitFor({ timeout: WAIT_MS });
    const before = Number(await text(page, 'total-success'));
    await page.getByLabel('Messages (distinct keys)').fill('2');
    await page.getByLabel('Duplicates (keys sent again)').fill('1');
    await page.getByRole('button', { name: 'Seed' }).click();
    await page.waitForURL(/seeded=3&unique=2&duplicates=1/, { timeout: WAIT_MS });
    expect(await text(page, 'seed-result')).toContain('Sent 3 messages');
    // Without the script the numbers are those of each load: reload until the worker is done.
    await eventually(async () => {
      await page.reload();
      return Number(await text(page, 'total-success')) === before + 2 ? true : undefined;
    }, WAIT_MS);
    await page.context().close();
    // No console error: no CSP violation, no failed request, no script error.
    expect(problems).toEqual([]);
  });

  it('fits a 390 px screen (a phone) without horizontal scroll, after traffic', async () => {
    const seeded = await fetch(`${running.http}/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ body: { n: 2 }, key: `long-${'k'.repeat(200)}` }] }),
    });
    expect(seeded.status).toBe(202);
    const page = await open(true, 390);
    await page.goto(`${running.http}/`);
    await page.locator('#recent-rows td.key', { hasText: 'long-' }).first().waitFor({ timeout: WAIT_MS });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('turns the headline to a warning while the real dead-letter queue holds a message', async () => {
    const { sqsEndpoint, dlqUrl } = running.endpoints;
    if (dlqUrl === undefined) throw new Error('embedded mode has a dead-letter queue');
    const sqs = createSqsClient({
      region: 'us-east-1',
      sqsEndpoint,
      dynamodbEndpoint: undefined,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const page = await open(true);
    try {
      await page.goto(`${running.http}/`);
      await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: '{"poison":true}' }));
      // The app's own depth poller (QUEUE_METRICS_INTERVAL=1 here) sees it; the page's script shows it.
      await page.waitForFunction(
        () => document.getElementById('state-headline')?.textContent === 'Ready, with warnings',
        null,
        { timeout: WAIT_MS },
      );
      expect(await text(page, 'problems')).toBe('the dead-letter queue holds 1 message');
      await sqs.send(new PurgeQueueCommand({ QueueUrl: dlqUrl }));
      await page.waitForFunction(
        () => document.getElementById('state-headline')?.textContent === 'Ready',
        null,
        { timeout: WAIT_MS },
      );
    } finally {
      sqs.destroy();
      await page.context().close();
    }
    expect(problems).toEqual([]);
  });
});
