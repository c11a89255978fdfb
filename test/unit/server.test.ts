import { Registry, Counter } from 'prom-client';
import { buildServer, type HealthReport, type ServerDeps } from '../../src/http/server.js';
import type { SeedRequest } from '../../src/infra/seed.js';

function deps(overrides: Partial<ServerDeps> = {}): ServerDeps & { seeded: SeedRequest[] } {
  const seeded: SeedRequest[] = [];
  const registry = new Registry();
  new Counter({ name: 'sqs_worker_test_total', help: 'test', registers: [registry] }).inc(3);
  const ok: HealthReport = { ok: true, checks: { process: { ok: true } } };
  return {
    seeded,
    registry,
    liveness: () => ok,
    readiness: () => ok,
    seed: async (request) => {
      seeded.push(request);
      return {
        sent: request.count + (request.duplicates ?? 0),
        unique: request.count,
        duplicates: request.duplicates ?? 0,
        keys: [],
      };
    },
    ...overrides,
  };
}

describe('sidecar', () => {
  it('answers liveness and readiness', async () => {
    const app = buildServer(deps());
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ok', checks: { process: { ok: true } } });
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

  it('serves the registry in Prometheus text format', async () => {
    const res = await buildServer(deps()).inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('sqs_worker_test_total 3');
  });

  it('seeds messages and answers 202', async () => {
    const d = deps();
    const res = await buildServer(d).inject({
      method: 'POST',
      url: '/seed',
      payload: { count: 10, duplicates: 3 },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ sent: 13, unique: 10, duplicates: 3 });
    expect(d.seeded).toEqual([{ count: 10, duplicates: 3 }]);
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
  ])('rejects %j with 400 naming %s', async (payload, field) => {
    const d = deps();
    const res = await buildServer(d).inject({ method: 'POST', url: '/seed', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'Bad Request', field });
    expect(d.seeded).toHaveLength(0);
  });

  it('answers 503 with the reason when the queue cannot take the messages', async () => {
    const app = buildServer(
      deps({
        seed: async () => {
          throw new Error('connect ECONNREFUSED 127.0.0.1:9324');
        },
      }),
    );
    const res = await app.inject({ method: 'POST', url: '/seed', payload: { count: 1 } });
    expect(res.statusCode).toBe(503);
    expect(res.json().message).toContain('ECONNREFUSED');
    expect(res.body).not.toContain('    at ');
  });
});
