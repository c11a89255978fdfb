import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/http/server.js';
import { safeUrl } from '../../src/http/audit.js';
import { createLogger } from '../../src/observability/logger.js';
import { MemoryLog } from '../helpers/app.js';
import { TOKEN, WITH_TOKEN, sidecarDeps } from '../helpers/sidecar.js';

/** Credentials a client puts in the query string never reach the log, whatever the answer. */

function sidecar(log: MemoryLog): FastifyInstance {
  return buildServer({ ...sidecarDeps({}, WITH_TOKEN), logger: createLogger('trace', log) });
}

describe('the audit line of the seed routes', () => {
  it.each([
    ['GET', '/records?token='],
    ['GET', '/records?limit=5&TOKEN='],
    ['GET', '/records?access_token='],
    ['GET', '/records?apiKey='],
    ['GET', '/records?x-api-key='],
    ['GET', '/records?client_secret='],
    ['GET', '/records?Password='],
    ['GET', '/records?X-Amz-Signature='],
    ['GET', '/records?X-Amz-Security-Token='],
    ['GET', '/records?%74oken='],
    ['POST', '/seed?token='],
    ['POST', '/seed?limit=1;token='],
  ])('%s %s<token> is answered, logged, and the token is not in the log', async (method, url) => {
    const log = new MemoryLog();
    const app = sidecar(log);
    const request = { method, url: `${url}${TOKEN}` };
    const res = await app.inject(method === 'POST' ? { ...request, payload: {} } : request);
    await app.close();
    expect(res.statusCode).toBe(401);
    const audit = log.lines().filter((l) => l.msg === 'seed route');
    expect(audit).toHaveLength(1);
    expect(audit[0]?.url).toContain('[redacted]');
    expect(log.text).not.toContain(TOKEN);
  });

  it('keeps the values of known-harmless parameters only (deny by default)', async () => {
    const log = new MemoryLog();
    const app = sidecar(log);
    await app.inject({
      url: `/records?status=COMPLETED&limit=5&cursor=q%23k-1&token=${TOKEN}`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await app.close();
    const [audit] = log.lines().filter((l) => l.msg === 'seed route');
    expect(audit?.url).toBe('/records?status=COMPLETED&limit=5&cursor=q%23k-1&token=[redacted]');
  });

  it('does not echo the token in the answer to an unknown route either', async () => {
    const log = new MemoryLog();
    const app = sidecar(log);
    const res = await app.inject(`/nowhere?token=${TOKEN}`);
    await app.close();
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain(TOKEN);
    expect(log.text).not.toContain(TOKEN);
  });
});

describe('safeUrl', () => {
  it.each([
    ['/records', '/records'],
    ['/records?', '/records?'],
    ['/records?limit=5', '/records?limit=5'],
    ['/records?token', '/records?token'],
    ['/records?token=', '/records?token='],
    ['/records?token=abc&token=def', '/records?token=[redacted]&token=[redacted]'],
    ['/r?Signature=abc', '/r?Signature=[redacted]'],
    [
      '/r?sig=abc&pwd=x&passwd=y&auth=z',
      '/r?sig=[redacted]&pwd=[redacted]&passwd=[redacted]&auth=[redacted]',
    ],
    ['/r?session_id=abc', '/r?session_id=[redacted]'],
    ['/r?to%6ben=abc', '/r?to%6ben=[redacted]'],
    ['/r?%E0%A4%A=1&secret=abc', '/r?%E0%A4%A=[redacted]&secret=[redacted]'],
    ['/r?a=1&&b=2', '/r?a=[redacted]&&b=[redacted]'],
    ['/r?limit=x=y&key=k=v', '/r?limit=x=y&key=[redacted]'],
    ['/r?limit=1#token=abc', '/r?limit=1#[redacted]'],
    [
      '/r?status=DONE&cursor=c&seeded=1&unique=1&duplicates=0',
      '/r?status=DONE&cursor=c&seeded=1&unique=1&duplicates=0',
    ],
    ['/r?Limit=5&LIMIT=6', '/r?Limit=[redacted]&LIMIT=[redacted]'],
    ['/r?bearer=b&jwt=j&code=c', '/r?bearer=[redacted]&jwt=[redacted]&code=[redacted]'],
    ['http://user:pass@host/r?limit=1', 'http://host/r?limit=1'],
  ])('%s -> %s', (url, expected) => {
    expect(safeUrl(url)).toBe(expected);
  });
});
