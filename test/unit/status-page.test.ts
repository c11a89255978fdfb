import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { InjectOptions } from 'fastify';
import { Gauge, Registry } from 'prom-client';
import type { MessageEvent, ObservableRuntime, RuntimeEvents } from '../../src/core/events.js';
import type { WorkerMessage } from '../../src/core/message.js';
import type { Outcome, Processed } from '../../src/core/pipeline.js';
import type { SeedAccess } from '../../src/http/access.js';
import { buildServer, type HealthReport, type ServerDeps } from '../../src/http/server.js';
import { OUTCOME_STYLE, STATUS_CSP, STATUS_STYLE } from '../../src/http/status-assets.js';
import type { StatusSnapshot } from '../../src/http/status-data.js';
import { esc, niceMax } from '../../src/http/status-html.js';
import { seedForm } from '../../src/http/status-page.js';
import { MAX_KEY_CHARS, RecentActivity } from '../../src/observability/recent.js';
import { createLogger } from '../../src/observability/logger.js';
import type { SeedRequest } from '../../src/seeding/seed.js';
import { MemoryLog } from '../helpers/app.js';
import { OPEN, STATUS_HEADINGS, TOKEN, WITH_TOKEN } from '../helpers/sidecar.js';
import { systemClock } from '../../src/core/clock.js';

const HOSTILE = `<script>alert("k")</script><img src=x onerror='alert(1)'>&amp;`;
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

function clockAt(start: number) {
  const clock = { ...systemClock, ms: start, now: () => clock.ms, monotonic: () => clock.ms - start };
  return clock;
}

function event(key: string, outcome: Outcome, durationMs = 12, reasonCode?: string): MessageEvent {
  const message = {
    key,
    messageId: `id-${key}`,
    receiveCount: 1,
    body: 'secret body',
    rawBody: 'secret body',
  };
  const processed = {
    outcome,
    action: outcome === 'retry' ? 'release' : 'delete',
    ...(reasonCode ? { reason: { code: reasonCode, message: 'm' } } : {}),
  };
  return {
    message: message as unknown as WorkerMessage,
    processed: processed as unknown as Processed,
    durationMs,
    logger: undefined as never,
  };
}

interface Setup {
  deps: ServerDeps;
  seeded: SeedRequest[];
  activity: RecentActivity;
  gauge: Gauge<'queue' | 'state'>;
}

function setup(
  options: { access?: SeedAccess | 'disabled'; embedded?: boolean; ready?: HealthReport } = {},
): Setup {
  const clock = clockAt(T0);
  const registry = new Registry();
  const gauge = new Gauge<'queue' | 'state'>({
    name: 'sqs_worker_queue_messages',
    help: 'h',
    labelNames: ['queue', 'state'],
    registers: [registry],
  });
  const activity = new RecentActivity({ clock });
  const seeded: SeedRequest[] = [];
  const ready = options.ready ?? { ok: true, checks: { lifecycle: { ok: true }, table: { ok: true } } };
  const access = options.access ?? OPEN;
  const deps: ServerDeps = {
    registry,
    liveness: () => ready,
    readiness: () => ready,
    eventLoopDelayMs: () => 0,
    seed: {
      access: access === 'disabled' ? undefined : access,
      send: async (request) => {
        seeded.push(request);
        const count = 'count' in request ? request.count : request.messages.length;
        const duplicates = 'count' in request ? (request.duplicates ?? 0) : 0;
        return { sent: count + duplicates, unique: count, duplicates, keys: [] };
      },
      records: async () => ({ records: [], next: null }),
    },
    status: {
      activity,
      queueGauge: gauge,
      queueMetricsIntervalMs: 30_000,
      maxInFlight: 10,
      embedded: options.embedded ?? true,
      now: clock.now,
    },
  };
  return { deps, seeded, activity, gauge };
}

const basic = (password: string) => `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`;

const form = (body: string, headers: Record<string, string> = {}): InjectOptions => ({
  method: 'POST',
  url: '/status/seed',
  payload: body,
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
});

describe('RecentActivity', () => {
  it('keeps the last N settled deliveries, newest first, without bodies', () => {
    const activity = new RecentActivity({ clock: clockAt(T0), size: 3 });
    for (const key of ['a', 'b', 'c', 'd']) activity.record(event(key, 'success'));
    expect(activity.recent().map((r) => r.key)).toEqual(['d', 'c', 'b']);
    expect(JSON.stringify(activity.recent())).not.toContain('secret body');
    expect(activity.recent()[0]).toEqual({
      at: T0,
      key: 'd',
      outcome: 'success',
      reason: undefined,
      durationMs: 12,
      receiveCount: 1,
    });
  });

  it('counts each second by outcome over a sliding window, and totals since the start', () => {
    const clock = clockAt(T0 + 500);
    const activity = new RecentActivity({ clock, windowSeconds: 5 });
    activity.record(event('a', 'success'));
    activity.record(event('a', 'duplicate'));
    clock.ms += 1000;
    activity.record(event('b', 'success'));
    activity.record(event('c', 'success'));
    expect(activity.perSecond().counts.success).toEqual([0, 0, 0, 1, 2]);
    expect(activity.perSecond().counts.duplicate).toEqual([0, 0, 0, 1, 0]);
    expect(activity.perSecond().from).toBe(Math.floor(clock.ms / 1000) - 4);
    // Seconds that fall out of the window are gone, even when their slot is not reused.
    clock.ms += 4000;
    expect(activity.perSecond().counts.success).toEqual([2, 0, 0, 0, 0]);
    clock.ms += 5000;
    activity.record(event('d', 'retry'));
    expect(activity.perSecond().counts.success).toEqual([0, 0, 0, 0, 0]);
    expect(activity.perSecond().counts.retry).toEqual([0, 0, 0, 0, 1]);
    expect(activity.totals()).toMatchObject({ success: 3, duplicate: 1, retry: 1, dead_lettered: 0 });
  });

  it('cuts long keys', () => {
    const activity = new RecentActivity({ clock: clockAt(T0) });
    activity.record(event('k'.repeat(10_000), 'success'));
    expect(activity.recent()[0]?.key).toHaveLength(MAX_KEY_CHARS);
  });

  it("is fed by the runtime's settled events and reads its in-flight count", () => {
    const emitter = new EventEmitter();
    const runtime = Object.assign(emitter, { running: true, inFlight: 4, lastPollAt: undefined });
    const activity = new RecentActivity({ clock: clockAt(T0) });
    expect(activity.inFlight).toBe(0);
    activity.watch(runtime as unknown as ObservableRuntime);
    const settled: RuntimeEvents['message_settled'] = [event('x', 'dead_lettered', 5, 'PERMANENT')];
    emitter.emit('message_settled', ...settled);
    expect(activity.inFlight).toBe(4);
    expect(activity.recent()).toMatchObject([{ key: 'x', outcome: 'dead_lettered', reason: 'PERMANENT' }]);
  });
});

describe('GET / (status page)', () => {
  it('serves one HTML page with every section, accessible and under a strict CSP', async () => {
    const { deps, activity, gauge } = setup();
    activity.record(event('order-1', 'success'));
    gauge.set({ queue: 'main', state: 'visible' }, 42);
    gauge.set({ queue: 'dlq', state: 'visible' }, 7);
    const res = await buildServer(deps).inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(STATUS_CSP);
    expect(res.headers['cache-control']).toBe('no-store');
    const page = res.body;
    expect(page).toMatch(/^<!doctype html>\n<html lang="en">/);
    for (const heading of STATUS_HEADINGS) {
      expect(page).toMatch(new RegExp(`<h[12][^>]*>${heading}</h[12]>`));
    }
    expect(page).toContain('<svg class="chart" viewBox="0 0 800 180" role="img" aria-labelledby=');
    expect(page).toContain('id="line-success"');
    expect(page).toContain('<th scope="col">Key</th>');
    // One live region, a sentence of the live numbers, instead of every cell of every table.
    expect(page.match(/aria-live=/g)).toHaveLength(1);
    expect(page).toContain(
      '<p id="summary" role="status" aria-live="polite">Settled since start: 1 success. In flight: 0 of 10. Ready, with warnings: the dead-letter queue holds 7 messages.</p>',
    );
    expect(page).toContain('<td class="key">order-1</td>');
    expect(page).toContain('<td class="num" id="q-main-visible">42</td>');
    expect(page).toContain('<td class="num" id="q-dlq-visible">7</td>');
    expect(page).toContain('<td class="num" id="q-main-delayed">–</td>');
    expect(page).toContain('<span class="big" id="inflight">0</span>');
    expect(page).toContain('<td class="num" id="rate-success">0.1</td>');
    expect(page).toContain('<label for="seed-count">');
    expect(page).toContain('<form method="post" action="/status/seed">');
  });

  it('allows exactly its own inline script and style by hash', async () => {
    const { deps } = setup();
    const page = (await buildServer(deps).inject('/')).body;
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)?.[1];
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)?.[1];
    expect(script).toBeDefined();
    expect(STATUS_CSP).toContain(`script-src ${hash(script ?? '')}`);
    expect(STATUS_CSP).toContain(`style-src ${hash(style ?? '')}`);
    expect(page).not.toMatch(/\sstyle="/);
    expect(page.match(/<script/g)).toHaveLength(1);
  });

  it('escapes a hostile key, reason and check detail', async () => {
    const hostileReady: HealthReport = { ok: false, checks: { [HOSTILE]: { ok: false, detail: HOSTILE } } };
    const { deps, activity } = setup({ ready: hostileReady });
    activity.record(event(HOSTILE, 'dead_lettered', 3, HOSTILE));
    const page = (await buildServer(deps).inject('/')).body;
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    expect(page).toContain(`<td class="key">${esc(HOSTILE)}</td>`);
    expect(esc(HOSTILE)).toBe(
      '&lt;script&gt;alert(&quot;k&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;amp;',
    );
    // The key and the reason twice each (recent deliveries and failures), and the check's detail
    // (its name once more).
    expect(page.split(esc(HOSTILE)).length - 1).toBe(6);
  });

  it('shows the numbers of the redirect after seeding, and ignores anything else', async () => {
    const { deps } = setup();
    const app = buildServer(deps);
    const shown = (await app.inject('/?seeded=13&unique=10&duplicates=3')).body;
    expect(shown).toContain('Sent 13 messages: 10 keys, 3 of them sent again as duplicates.');
    const odd = (await app.inject(`/?seeded=<b>&unique=1&duplicates=0`)).body;
    expect(odd).not.toContain('id="seed-result"');
  });

  it('has no seed form outside embedded mode, and no form route', async () => {
    const { deps } = setup({ embedded: false, access: WITH_TOKEN });
    const app = buildServer(deps);
    expect((await app.inject('/')).body).not.toContain('Seed messages');
    const res = await app.inject(form('count=1', { authorization: `Bearer ${TOKEN}` }));
    expect(res.statusCode).toBe(404);
  });
});

describe('GET /status.json', () => {
  it('gives the same state as data', async () => {
    const { deps, activity, gauge } = setup();
    activity.record(event('k1', 'success'));
    activity.record(event('k1', 'duplicate'));
    gauge.set({ queue: 'main', state: 'in_flight' }, 2);
    const res = await buildServer(deps).inject('/status.json');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<StatusSnapshot>();
    expect(body).toMatchObject({
      at: T0,
      embedded: true,
      inFlight: 0,
      maxInFlight: 10,
      queues: { main: { visible: null, in_flight: 2, delayed: null }, dlq: null, intervalSeconds: 30 },
      totals: { success: 1, duplicate: 1 },
      readiness: { ok: true },
    });
    expect(body.perSecond.counts.success.at(-1)).toBe(1);
    expect(body.recent?.map((r) => [r.key, r.outcome])).toEqual([
      ['k1', 'duplicate'],
      ['k1', 'success'],
    ]);
  });
});

describe('protection of keys and seeding (as /seed and /records)', () => {
  it('without SEED_TOKEN: loopback clients at a loopback host only', async () => {
    const { deps, activity, seeded } = setup();
    activity.record(event('secret-key', 'success'));
    const app = buildServer(deps);
    const remote = await app.inject({ url: '/', remoteAddress: '10.0.0.9' });
    expect(remote.statusCode).toBe(200);
    expect(remote.body).toContain('Queue depth');
    expect(remote.body).not.toContain('secret-key');
    expect(remote.body).not.toContain('<form');
    expect(remote.body).toContain('only loopback clients');
    const json = (
      await app.inject({ url: '/status.json', remoteAddress: '10.0.0.9' })
    ).json<StatusSnapshot>();
    expect(json.recent).toBeNull();
    // A page of another site whose name was rebound to 127.0.0.1: refused outright (issue 20).
    const rebound = await app.inject({ url: '/status.json', headers: { host: 'evil.example:8080' } });
    expect(rebound.statusCode).toBe(403);
    const post = await app.inject({ ...form('count=1'), remoteAddress: '10.0.0.9' });
    expect(post.statusCode).toBe(403);
    expect(seeded).toEqual([]);
  });

  it('with SEED_TOKEN: keys and the form after signing in with Basic (or Bearer)', async () => {
    const { deps, activity, seeded } = setup({ access: WITH_TOKEN });
    activity.record(event('secret-key', 'success'));
    const app = buildServer(deps);
    const anonymous = await app.inject('/');
    expect(anonymous.body).not.toContain('secret-key');
    expect(anonymous.body).toContain('<a href="/status/login">Sign in</a>');

    const login = await app.inject('/status/login');
    expect(login.statusCode).toBe(401);
    expect(login.headers['www-authenticate']).toBe('Basic realm="sqs-worker status", charset="UTF-8"');
    const wrong = await app.inject({
      url: '/status/login',
      headers: { authorization: basic('nope-nope-nope') },
    });
    expect(wrong.statusCode).toBe(401);
    const right = await app.inject({ url: '/status/login', headers: { authorization: basic(TOKEN) } });
    expect(right.statusCode).toBe(303);
    expect(right.headers.location).toBe('/');

    for (const authorization of [basic(TOKEN), `Bearer ${TOKEN}`]) {
      const page = await app.inject({ url: '/', headers: { authorization } });
      expect(page.body).toContain('<td class="key">secret-key</td>');
      expect(page.body).toContain('<form method="post"');
    }
    expect((await app.inject(form('count=2'))).statusCode).toBe(401);
    expect((await app.inject(form('count=2', { authorization: basic('wrong-token-123') }))).statusCode).toBe(
      401,
    );
    expect(seeded).toEqual([]);
    expect((await app.inject(form('count=2', { authorization: basic(TOKEN) }))).statusCode).toBe(303);
    expect(seeded).toEqual([{ count: 2, duplicates: 0 }]);
  });

  it('seeding and records off (a real queue without SEED_ENABLED): public parts only', async () => {
    const { deps, activity } = setup({ access: 'disabled', embedded: false });
    activity.record(event('secret-key', 'success'));
    const app = buildServer(deps);
    const page = await app.inject({ url: '/', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('In flight');
    expect(page.body).not.toContain('secret-key');
    expect(page.body).toContain('seeding and records are off');
    expect((await app.inject('/status/login')).statusCode).toBe(404);
  });

  it('rate limits the form and sign-in like /seed, and answers 429 as a page', async () => {
    const { deps } = setup({ access: { token: TOKEN, ratePerMinute: 2 } });
    const app = buildServer(deps);
    for (let i = 0; i < 2; i++) expect((await app.inject('/status/login')).statusCode).toBe(401);
    const limited = await app.inject('/status/login');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(limited.body).toContain('over 2 requests per minute');
    // Page views without credentials are not counted: the page stays readable.
    for (let i = 0; i < 5; i++) expect((await app.inject('/status.json')).statusCode).toBe(200);
    // One budget per client across routes (issue 20): this client used it on sign-in.
    const guess = { url: '/status.json', headers: { authorization: basic('guess-guess-guess') } };
    expect((await app.inject(guess)).statusCode).toBe(429);
    const other = { ...guess, remoteAddress: '127.0.0.2' };
    const guesses: number[] = [];
    for (let i = 0; i < 3; i++) guesses.push((await app.inject(other)).statusCode);
    expect(guesses).toEqual([200, 200, 429]);
  });
});

describe('POST /status/seed (the form, without JavaScript)', () => {
  it('seeds through the existing seed logic and redirects back to the page', async () => {
    const { deps, seeded } = setup();
    const res = await buildServer(deps).inject(form('count=10&duplicates=3'));
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/?seeded=13&unique=10&duplicates=3#seed-result');
    expect(seeded).toEqual([{ count: 10, duplicates: 3 }]);
  });

  it.each([
    ['count=0', 'count: must be from 1 to 10000'],
    ['count=10001', 'count: must be from 1 to 10000'],
    ['count=abc', 'count: must be a whole number'],
    ['duplicates=1', 'count: is required'],
    ['count=2&duplicates=3', 'duplicates: duplicates must not exceed count'],
    ['count=2&count=3', 'count: given twice'],
    ['count=2&body=%3Cx%3E', 'body: unknown field'],
  ])('%s is a 400 page naming the field', async (body, message) => {
    const { deps, seeded } = setup();
    const res = await buildServer(deps).inject(form(body));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain(esc(message));
    expect(seeded).toEqual([]);
  });

  it('refuses JSON (scripts use POST /seed) and bodies over 1 KiB', async () => {
    const { deps } = setup();
    const app = buildServer(deps);
    const json = await app.inject({ method: 'POST', url: '/status/seed', payload: { count: 1 } });
    expect(json.statusCode).toBe(415);
    expect((await app.inject(form(`count=1&${'x'.repeat(2000)}=1`))).statusCode).toBe(413);
  });

  it.each([
    ['another origin', { origin: 'http://evil.example' }],
    ['a cross-site fetch', { 'sec-fetch-site': 'cross-site' }],
    ['an opaque origin', { origin: 'null' }],
  ])("refuses a post from %s (another site's form)", async (_name, headers) => {
    const { deps, seeded } = setup();
    const res = await buildServer(deps).inject(form('count=1', headers));
    expect(res.statusCode).toBe(403);
    expect(seeded).toEqual([]);
  });

  it('accepts a post from the page itself', async () => {
    const { deps, seeded } = setup();
    const headers = {
      origin: 'http://localhost:8080',
      host: 'localhost:8080',
      'sec-fetch-site': 'same-origin',
    };
    expect((await buildServer(deps).inject(form('count=1', headers))).statusCode).toBe(303);
    expect(seeded).toHaveLength(1);
  });

  it('says so as a page when the queue cannot be reached', async () => {
    const { deps } = setup();
    const failing: ServerDeps = {
      ...deps,
      seed: { ...deps.seed, send: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')) },
    };
    const res = await buildServer(failing).inject(form('count=1'));
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('ECONNREFUSED');
  });
});

describe('colours', () => {
  /** WCAG 2 contrast ratio of two #rrggbb colours. */
  function contrast(a: string, b: string): number {
    const luminance = (hex: string) => {
      const [r, g, bl] = [1, 3, 5].map((i) => {
        const c = parseInt(hex.slice(i, i + 2), 16) / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (bl ?? 0);
    };
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
  }

  it.each(Object.entries(OUTCOME_STYLE))('%s has at least 4.5:1 on white', (_outcome, { color }) => {
    expect(contrast(color, '#ffffff')).toBeGreaterThanOrEqual(4.5);
  });

  it('every text colour of the style has at least 4.5:1 on its background', () => {
    const pairs = [
      ['#1f2328', '#ffffff'], // body text
      ['#57606a', '#ffffff'], // muted text, captions, axis labels
      ['#0550ae', '#ffffff'], // links
      ['#1a7f37', '#ffffff'], // ok
      ['#cf222e', '#ffffff'], // failing
      ['#ffffff', '#1a7f37'], // the button
      ['#1f2328', '#ddf4ff'], // notices
      ['#1f2328', '#ffebe9'], // problems
    ] as const;
    for (const [fg, bg] of pairs) {
      expect(STATUS_STYLE).toContain(fg);
      expect(STATUS_STYLE).toContain(bg);
      expect([fg, bg, contrast(fg, bg) >= 4.5]).toEqual([fg, bg, true]);
    }
  });
});

describe('helpers', () => {
  it('seedForm reads count and duplicates', () => {
    expect(seedForm(new URLSearchParams('count=5&duplicates=2'))).toEqual({ count: 5, duplicates: 2 });
  });

  it('niceMax steps 1, 2, 5, 10, ...', () => {
    expect([0, 1, 2, 3, 6, 11, 49, 51].map(niceMax)).toEqual([1, 1, 2, 5, 10, 20, 50, 100]);
  });
});

describe('the status page audit line', () => {
  it.each(['/status/login', '/status/seed'])(
    'keeps a token sent in the query string of %s out of the log',
    async (path) => {
      const log = new MemoryLog();
      const { deps } = setup({ access: WITH_TOKEN });
      const app = buildServer({ ...deps, logger: createLogger('trace', log) });
      const res = await app.inject(
        path === '/status/seed'
          ? { ...form('count=1'), url: `${path}?token=${TOKEN}` }
          : `${path}?token=${TOKEN}`,
      );
      await app.close();
      expect(res.statusCode).toBe(401);
      const audit = log.lines().filter((l) => l.msg === 'status page route');
      expect(audit).toHaveLength(1);
      expect(audit[0]?.url).toBe(`${path}?token=[redacted]`);
      expect(log.text).not.toContain(TOKEN);
    },
  );
});
