import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { useResource } from './hooks.js';

/** Debian's Chromium (apt-get install chromium), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags that let Debian's Chromium run headless here (no sandbox, GPU or network chatter). */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The deadline of Playwright's own polling in the browser tests. */
export const WAIT_MS = 30_000;

/**
 * Headless Chromium for the tests of a describe block (or a file), launched in `beforeAll` with
 * CHROMIUM_FLAGS and `args`, closed in `afterAll`. It fails, never skips, when the browser is
 * missing.
 */
export function useChromium(args: readonly string[] = []): Browser {
  return useResource(
    'useChromium()',
    async () => {
      if (!existsSync(CHROMIUM)) {
        throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
      }
      return chromium.launch({
        executablePath: CHROMIUM,
        args: [...CHROMIUM_FLAGS, ...args],
        headless: true,
      });
    },
    (browser) => browser.close(),
  );
}

/**
 * A page in a context of its own, whose console errors and uncaught errors (CSP violations among
 * them) are pushed to `problems`, which the tests expect to stay empty.
 */
export async function watchedPage(
  browser: Browser,
  problems: string[],
  options: BrowserContextOptions,
): Promise<Page> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return page;
}
