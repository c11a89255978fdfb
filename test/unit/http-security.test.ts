import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildServer, type ServerDeps } from '../../src/http/server.js';
import type { SeedAccess } from '../../src/http/access.js';
import { createLogger } from '../../src/observability/logger.js';
import { MemoryLog } from '../helpers/app.js';
import { OPEN, TOKEN, WITH_TOKEN, sidecarDeps } from '../helpers/sidecar.js';
import { Gauge, Registry } from 'prom-client';
import { RecentActivity } from '../../src/observability/recent.js';

/** Issue 20, "Security, second pass": each case here failed on the code it was filed against. */

function statusDeps(): NonNullable<ServerDeps['status']> {
  const registry = new Registry();
  const queueGauge = new Gauge<'queue' | 'state'>({
    name: 'sqs_worker_queue_messages',
    help: 'h',
    labelNames: ['queue', 'state'],
    registers: [registry],
  });
  return {
    activity: new RecentActivity(),
    queueGauge,
    queueMetricsIntervalMs: 30_000,
    maxInFlight: 10,
    embedded: true,
  };
}

function sidecar(
  access: SeedAccess = OPEN,
  more: Partial<ServerDeps> = {},
  log?: MemoryLog,
): FastifyInstance {
  return buildServer({
    ...sidecarDeps({ status: statusDeps(), ...more }, access),
    ...(log ? { logger: createLogger('trace', log) } : {}),
  });
}

const seedBody = { messages: [{ body: 'x', key: 'k-1' }] };
const json = { 'content-type': 'application/json' };

const DATA_ROUTES: InjectOptions[] = [
  { method: 'GET', url: '/records' },
  { method: 'HEAD', url: '/records' },
  { method: 'POST', url: '/seed', payload: seedBody },
  { method: 'GET', url: '/' },
  { method: 'GET', url: '/status.json' },
  { method: 'GET', url: '/status/login' },
  {
    method: 'POST',
    url: '/status/seed',
    payload: 'count=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  },
];

describe('one Host rule for every route that reads data or acts (item 1)', () => {
  const HOSTILE = [
    'evil.example',
    'evil.example:8080',
    'EVIL.example',
    'localhost.evil.example',
    '127.0.0.1.nip.io',
    'evil.example.',
    '127.0.0.2',
    '[::2]:80',
    '0.0.0.0:8080',
    'localhost:80@evil.example',
  ];

  it.each(DATA_ROUTES.map((route) => [`${route.method} ${route.url}`, route] as const))(
    '%s from a loopback client with a rebound Host is refused, whatever the Host form',
    async (_name, route) => {
      const app = sidecar();
      for (const host of HOSTILE) {
        const res = await app.inject({ ...route, headers: { ...route.headers, host } });
        expect([host, res.statusCode]).toEqual([host, 403]);
      }
    },
  );

  it.each(DATA_ROUTES.map((route) => [`${route.method} ${route.url}`, route] as const))(
    '%s is refused with a rebound Host even with the right token: the Host is checked first',
    async (_name, route) => {
      const app = sidecar(WITH_TOKEN);
      const headers = { ...route.headers, host: 'evil.example', authorization: `Bearer ${TOKEN}` };
      expect((await app.inject({ ...route, headers })).statusCode).toBe(403);
    },
  );

  it.each(['localhost', 'localhost:8080', '127.0.0.1:9', '[::1]:8080', 'LOCALHOST'])(
    'answers at the loopback name %s',
    async (host) => {
      const res = await sidecar().inject({ url: '/records', headers: { host } });
      expect(res.statusCode).toBe(200);
    },
  );

  it('answers at a name listed in HTTP_ALLOWED_HOSTS, and probes and metrics at any name', async () => {
    const app = sidecar(WITH_TOKEN, { allowedHosts: ['worker.internal'] });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const listed = await app.inject({ url: '/records', headers: { host: 'Worker.Internal:8080', ...auth } });
    expect(listed.statusCode).toBe(200);
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      expect((await app.inject({ url, headers: { host: 'sqs-worker.prod.svc:8080' } })).statusCode).toBe(200);
    }
  });
});

describe('request bodies (items 5, 8, 9)', () => {
  it('refuses invalid UTF-8 in a /seed body with 400 instead of replacing it with U+FFFD', async () => {
    const app = sidecar();
    for (const byte of [0xff, 0xfe]) {
      const payload = Buffer.concat([
        Buffer.from('{"messages":[{"body":"x","key":"k-'),
        Buffer.from([byte]),
        Buffer.from('"}]}'),
      ]);
      const res = await app.inject({ method: 'POST', url: '/seed', payload, headers: json });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ field: 'body', message: expect.stringContaining('UTF-8') });
    }
  });

  it('refuses invalid UTF-8 in the status form too', async () => {
    const payload = Buffer.concat([Buffer.from('count=1&duplicates='), Buffer.from([0xff])]);
    const res = await sidecar().inject({
      method: 'POST',
      url: '/status/seed',
      payload,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(400);
  });

  it.each(['br', 'gzip', 'x-evil', 'identity, gzip'])(
    'answers 415 to Content-Encoding: %s',
    async (encoding) => {
      const res = await sidecar().inject({
        method: 'POST',
        url: '/seed',
        payload: JSON.stringify(seedBody),
        headers: { ...json, 'content-encoding': encoding },
      });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toMatchObject({ field: 'content-encoding' });
    },
  );

  it('accepts Content-Encoding: identity', async () => {
    const res = await sidecar().inject({
      method: 'POST',
      url: '/seed',
      payload: JSON.stringify(seedBody),
      headers: { ...json, 'content-encoding': 'Identity' },
    });
    expect(res.statusCode).toBe(202);
  });

  it('refuses a string body whose text is JSON nested deeper than 256 levels', async () => {
    const deep = `${'['.repeat(300)}${']'.repeat(300)}`;
    const res = await sidecar().inject({
      method: 'POST',
      url: '/seed',
      payload: { messages: [{ body: deep }] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'messages.0.body' });
    const ok = await sidecar().inject({
      method: 'POST',
      url: '/seed',
      payload: { messages: [{ body: `${'['.repeat(256)}${']'.repeat(256)}` }] },
    });
    expect(ok.statusCode).toBe(202);
  });

  it('in embedded mode, refuses characters above U+FFFF with a 400 that says the emulator cannot store them', async () => {
    const embedded: SeedAccess = { ...OPEN, embedded: true };
    const app = sidecar(embedded);
    const body = await app.inject({
      method: 'POST',
      url: '/seed',
      payload: { messages: [{ body: 'hi 🎉' }] },
    });
    expect(body.statusCode).toBe(400);
    expect(body.json()).toMatchObject({
      field: 'messages.0.body',
      message: expect.stringContaining('embedded'),
    });
    const attribute = await app.inject({
      method: 'POST',
      url: '/seed',
      payload: { messages: [{ body: { a: 1 }, attributes: { note: '🎉' } }] },
    });
    expect(attribute.statusCode).toBe(400);
    expect(attribute.json()).toMatchObject({ field: 'messages.0.attributes.note' });
    // Real SQS accepts them.
    const real = sidecar(WITH_TOKEN);
    const res = await real.inject({
      method: 'POST',
      url: '/seed',
      payload: { messages: [{ body: 'hi 🎉' }] },
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(202);
  });
});

describe('rate limit per client across routes (item 6)', () => {
  it('shares one budget between /records, HEAD /records, /seed and the status routes', async () => {
    const app = sidecar({ ...OPEN, ratePerMinute: 2 });
    expect((await app.inject('/records')).statusCode).toBe(200);
    expect((await app.inject('/records')).statusCode).toBe(200);
    expect((await app.inject('/records')).statusCode).toBe(429);
    expect((await app.inject({ method: 'POST', url: '/seed', payload: seedBody })).statusCode).toBe(429);
    expect((await app.inject({ method: 'HEAD', url: '/records' })).statusCode).toBe(429);
    expect((await app.inject('/status/login')).statusCode).toBe(429);
    // Another client has its own budget.
    expect((await app.inject({ url: '/records', remoteAddress: '127.0.0.2' })).statusCode).toBe(200);
  });
});

describe('no credential in an answer or a log line (item 7)', () => {
  it('answers a malformed URL with 400 without echoing its query', async () => {
    const log = new MemoryLog();
    const app = sidecar(OPEN, {}, log);
    const res = await app.inject(`/%ff?token=${TOKEN}`);
    await app.close();
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain(TOKEN);
    expect(log.text).not.toContain(TOKEN);
  });

  it.each(['bearer', 'jwt', 'code', 'state', 'anything', 'q'])(
    'redacts the value of ?%s= in the audit line: only known-harmless names keep their values',
    async (name) => {
      const log = new MemoryLog();
      const app = sidecar(OPEN, {}, log);
      await app.inject(`/records?limit=5&${name}=V4LUE`);
      await app.close();
      const [audit] = log.lines().filter((l) => l.msg === 'seed route');
      expect(audit?.url).toBe(`/records?limit=5&${name}=[redacted]`);
      expect(log.text).not.toContain('V4LUE');
    },
  );
});
