import type { InjectOptions } from 'fastify';
import { buildServer, type HealthReport } from '../../src/http/server.js';
import { SeedInputError } from '../../src/seeding/seed.js';
import { OPEN, TOKEN, WITH_TOKEN, sidecarDeps as deps } from '../helpers/sidecar.js';

const seed = (payload: object, headers: Record<string, string> = {}): InjectOptions => ({
  method: 'POST',
  url: '/seed',
  payload,
  headers,
});

describe('sidecar health', () => {
  it('answers liveness and readiness with each check named', async () => {
    const app = buildServer(deps());
    const live = await app.inject('/healthz');
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({
      status: 'ok',
      checks: { eventLoop: { ok: true }, consumer: { ok: true } },
    });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ok', checks: { consumer: { ok: true } } });
  });

  it('answers 503 with the failing check while not ready', async () => {
    const app = buildServer(
      deps({ readiness: () => ({ ok: false, checks: { poll: { ok: false, detail: 'no receive yet' } } }) }),
    );
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: 'unavailable',
      checks: { poll: { ok: false, detail: 'no receive yet' } },
    });
  });

  it('fails liveness when the consumer check fails', async () => {
    const stalled: HealthReport = { ok: false, checks: { consumer: { ok: false, detail: 'stalled' } } };
    const res = await buildServer(deps({ liveness: () => stalled })).inject('/healthz');
    expect(res.statusCode).toBe(503);
    expect(res.json().checks.consumer).toEqual({ ok: false, detail: 'stalled' });
  });

  it('fails liveness while the event loop lags more than the bound, and recovers', async () => {
    let delayMs = 20;
    const app = buildServer(deps({ maxEventLoopDelayMs: 20, eventLoopDelayMs: () => delayMs }));
    expect((await app.inject('/healthz')).statusCode).toBe(200);

    delayMs = 60.4;
    const lagging = await app.inject('/healthz');
    expect(lagging.statusCode).toBe(503);
    expect(lagging.json().checks).toEqual({
      eventLoop: { ok: false, detail: 'event loop delay 60 ms, over 20 ms' },
      consumer: { ok: true },
    });

    delayMs = Number.POSITIVE_INFINITY;
    const stuck = await app.inject('/healthz');
    expect(stuck.statusCode).toBe(503);
    expect(stuck.json().checks.eventLoop).toEqual({
      ok: false,
      detail: 'event loop delay unbounded (the loop did not turn in a sample interval), over 20 ms',
    });

    delayMs = 3;
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });

  it("measures the delay with under-pressure's sample when none is injected", async () => {
    // A bound below any measurement fails whatever the machine's load, so the real source shows.
    const app = buildServer({ ...deps({ maxEventLoopDelayMs: -1 }), eventLoopDelayMs: undefined });
    try {
      const res = await app.inject('/healthz');
      expect(res.statusCode).toBe(503);
      expect(res.json().checks.eventLoop).toEqual({
        ok: false,
        detail: expect.stringMatching(/^event loop delay (\d+ ms|unbounded .*), over -1 ms$/),
      });
    } finally {
      await app.close();
    }
  });
});

describe('sidecar metrics', () => {
  it('serves the registry in Prometheus text format', async () => {
    const res = await buildServer(deps()).inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('sqs_worker_test_total 3');
  });
});

describe('POST /seed', () => {
  it('seeds generated messages and answers 202', async () => {
    const d = deps();
    const res = await buildServer(d).inject(seed({ count: 10, duplicates: 3 }));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ sent: 13, unique: 10, duplicates: 3 });
    expect(d.seeded).toEqual([{ count: 10, duplicates: 3 }]);
  });

  it('seeds explicit messages', async () => {
    const d = deps();
    const messages = [
      { body: { order: 1 }, key: 'order-1', attributes: { source: 'test' } },
      { body: 'plain text', delaySeconds: 5 },
    ];
    const res = await buildServer(d).inject(seed({ messages }));
    expect(res.statusCode).toBe(202);
    expect(d.seeded).toEqual([{ messages }]);
  });

  it.each([
    [{ count: 0 }, 'count'],
    [{ count: 10001 }, 'count'],
    [{ count: 1.5 }, 'count'],
    [{ count: '10' }, 'count'],
    [{}, 'count'],
    [{ count: 5, duplicates: -1 }, 'duplicates'],
    [{ count: 5, duplicates: 6 }, 'duplicates'],
    [{ count: 5, colour: 'red' }, 'colour'],
    [{ count: 5, groupId: '' }, 'groupId'],
    [{ count: 5, messages: [{ body: 'x' }] }, 'messages'],
    [{ messages: [] }, 'messages'],
    [{ messages: [{ body: 'x' }], duplicates: 1 }, 'duplicates'],
    [{ messages: Array.from({ length: 101 }, () => ({ body: 'x' })) }, 'messages'],
    [{ messages: [{ key: 'k' }] }, 'messages.0.body'],
    [{ messages: [{ body: 'x', colour: 'red' }] }, 'messages.0.colour'],
    [{ messages: [{ body: 'x' }, { body: 'y', delaySeconds: 901 }] }, 'messages.1.delaySeconds'],
    [{ messages: [{ body: 'x', key: '' }] }, 'messages.0.key'],
    [{ messages: [{ body: 'x', attributes: { a: 1 } }] }, 'messages.0.attributes.a'],
    [{ messages: [{ body: 'x', attributes: { 'bad name': 'v' } }] }, 'messages.0.attributes.bad name'],
  ])('rejects %j with 400 naming %s', async (payload, field) => {
    const d = deps();
    const res = await buildServer(d).inject(seed(payload));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'Bad Request', field });
    expect(d.seeded).toHaveLength(0);
  });

  it('answers 400 naming the field when the queue cannot take the input', async () => {
    const app = buildServer(
      deps({
        seed: {
          ...deps().seed,
          send: async () => {
            throw new SeedInputError('groupId', 'groupId applies to FIFO queues only');
          },
        },
      }),
    );
    const res = await app.inject(seed({ count: 1, groupId: 'g' }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'groupId' });
  });

  it('answers 413 for a body over the limit', async () => {
    const big = 'x'.repeat(200_000);
    const res = await buildServer(deps()).inject(
      seed({ messages: Array.from({ length: 6 }, () => ({ body: big })) }),
    );
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: 'Payload Too Large' });
  });

  it('answers 503 with the reason and no stack trace when the queue cannot take the messages', async () => {
    const d = deps();
    const app = buildServer({
      ...d,
      seed: {
        ...d.seed,
        send: async () => {
          throw new Error('connect ECONNREFUSED 127.0.0.1:9324');
        },
      },
    });
    const res = await app.inject(seed({ count: 1 }));
    expect(res.statusCode).toBe(503);
    expect(res.json().message).toContain('ECONNREFUSED');
    expect(res.body).not.toContain('    at ');
  });
});

describe('seed protection', () => {
  it('answers 404 on both routes when disabled', async () => {
    const d = deps({}, 'disabled');
    const app = buildServer(d);
    const post = await app.inject(seed({ count: 1 }));
    expect(post.statusCode).toBe(404);
    expect(post.json().message).toContain('SEED_ENABLED');
    expect((await app.inject('/records')).statusCode).toBe(404);
    expect(d.seeded).toHaveLength(0);
  });

  it('answers 401 without a token or with a wrong one, before reading the body', async () => {
    const d = deps({}, WITH_TOKEN);
    const app = buildServer(d);
    const none = await app.inject(seed({ count: 1 }));
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    const wrong = await app.inject(seed({ count: 0 }, { authorization: 'Bearer not-the-token-at-all' }));
    expect(wrong.statusCode).toBe(401);
    const records = await app.inject({ url: '/records', headers: { authorization: `Basic ${TOKEN}` } });
    expect(records.statusCode).toBe(401);
    expect(d.seeded).toHaveLength(0);
  });

  it('accepts the bearer token from any address', async () => {
    const d = deps({}, WITH_TOKEN);
    const res = await buildServer(d).inject({
      ...seed({ count: 1 }, { authorization: `Bearer ${TOKEN}` }),
      remoteAddress: '10.1.2.3',
    });
    expect(res.statusCode).toBe(202);
  });

  it('without a token, is open on loopback only', async () => {
    const app = buildServer(deps({}, OPEN));
    expect((await app.inject({ ...seed({ count: 1 }), remoteAddress: '127.0.0.1' })).statusCode).toBe(202);
    expect((await app.inject({ ...seed({ count: 1 }), remoteAddress: '::1' })).statusCode).toBe(202);
    const remote = await app.inject({ ...seed({ count: 1 }), remoteAddress: '10.1.2.3' });
    expect(remote.statusCode).toBe(403);
    expect(remote.json().message).toContain('SEED_TOKEN');
  });

  it('answers 429 over the rate limit, counting refused requests too', async () => {
    const app = buildServer(deps({}, { token: TOKEN, ratePerMinute: 2 }));
    expect((await app.inject(seed({ count: 1 }))).statusCode).toBe(401);
    expect((await app.inject(seed({ count: 1 }, { authorization: `Bearer ${TOKEN}` }))).statusCode).toBe(202);
    const limited = await app.inject(seed({ count: 1 }, { authorization: `Bearer ${TOKEN}` }));
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: 'Too Many Requests' });
    expect(limited.headers['retry-after']).toBeDefined();
  });
});

describe('GET /records', () => {
  it('passes status, limit and cursor to the store', async () => {
    const d = deps();
    const res = await buildServer(d).inject('/records?status=COMPLETED&limit=5&cursor=q%23k-1');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ records: [], next: null });
    expect(d.listed).toEqual([{ status: 'COMPLETED', limit: 5, cursor: 'q#k-1' }]);
  });

  it('defaults the limit to 100', async () => {
    const d = deps();
    await buildServer(d).inject('/records');
    expect(d.listed).toEqual([{ limit: 100 }]);
  });

  it.each([
    ['status=DONE', 'status'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=ten', 'limit'],
    ['colour=red', 'colour'],
  ])('rejects ?%s with 400 naming %s', async (query, field) => {
    const d = deps();
    const res = await buildServer(d).inject(`/records?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field });
    expect(d.listed).toHaveLength(0);
  });
});
