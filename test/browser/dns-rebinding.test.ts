import { useEmbeddedApp } from '../helpers/app.js';
import { useChromium, WAIT_MS } from '../helpers/browser.js';

/**
 * DNS rebinding (issue 20, item 1), in Debian's Chromium: a page of another site, served as
 * http://evil.example:PORT, whose name then resolves to 127.0.0.1 (Chromium's host resolver rules
 * stand in for the attacker's DNS). Its script calls the worker's sidecar as its own origin: the
 * browser sends `Host: evil.example:PORT`. Against the whole app in embedded mode with no
 * SEED_TOKEN (the quick start), the routes that read data or act must refuse it; the same page at
 * localhost shows that the harness itself reaches them.
 */

/** What the hostile page's script found. */
interface Findings {
  readonly records: number;
  readonly recordsBody: string;
  readonly seed: number;
  readonly status: number;
  readonly page: number;
}

declare const window: { __findings?: Findings };

const ATTACK = `<!doctype html><title>cute cats</title><script>
const call = (url, init) => fetch(url, init).then(
  async (r) => ({ status: r.status, body: await r.text() }),
  (e) => ({ status: -1, body: String(e) }),
);
(async () => {
  const records = await call('/records');
  const seed = await call('/seed', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ body: 'planted', key: 'planted-by-evil' }] }),
  });
  const status = await call('/status.json');
  const page = await call('/');
  window.__findings = {
    records: records.status, recordsBody: records.body, seed: seed.status,
    status: status.status, page: page.status,
  };
})();
</script>`;

const running = useEmbeddedApp();
const browser = useChromium([
  // The attacker's DNS: evil.example now resolves to this machine.
  '--host-resolver-rules=MAP evil.example 127.0.0.1',
  // Chromium 150's Local Network Access checks block this page's calls on their own: the page
  // is fulfilled by the test, with no address, so it counts as public. They are off so that
  // the test sees what the sidecar answers: a rebound page loaded from a loopback address,
  // and browsers without the checks, reach the sidecar (the case).
  '--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests',
]);
/** The sidecar's port (the attack page is served at it under another name). */
const port = () => new URL(running.http).port;

/** Serves the hostile page at `origin`/attack (only that path; the rest goes to the sidecar). */
async function attackFrom(origin: string): Promise<Findings> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.route(`${origin}/attack`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: ATTACK }),
    );
    await page.goto(`${origin}/attack`);
    const handle = await page.waitForFunction(() => window.__findings, undefined, { timeout: WAIT_MS });
    return (await handle.jsonValue()) as Findings;
  } finally {
    await context.close();
  }
}

describe('DNS rebinding in Chromium (issue 20)', () => {
  it('a page at evil.example rebound to 127.0.0.1 can neither read records, nor seed, nor see the status page', async () => {
    const found = await attackFrom(`http://evil.example:${port()}`);
    expect(found).toMatchObject({ records: 403, seed: 403, status: 403, page: 403 });
    expect(found.recordsBody).not.toContain('"records"');
    // Nothing was planted: the records, read from loopback, hold no such key.
    const records = await (await fetch(`${running.http}/records?limit=1000`)).json();
    expect(JSON.stringify(records)).not.toContain('planted-by-evil');
  });

  it('the same page at localhost reaches them (the harness works)', async () => {
    const found = await attackFrom(`http://localhost:${port()}`);
    expect(found).toMatchObject({ records: 200, seed: 202, status: 200, page: 200 });
  });
});
