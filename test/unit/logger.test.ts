import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/observability/logger.js';
import { MemoryLog } from '../helpers/app.js';
import { Registry } from 'prom-client';

const TOKEN = 'unit-test-token-9b1e6c0d2f';

describe('logger', () => {
  it('writes pino JSON lines with the level as a word', () => {
    const log = new MemoryLog();
    createLogger('info', log).info({ n: 1 }, 'hello');
    expect(log.lines()).toEqual([
      expect.objectContaining({ level: 'info', msg: 'hello', n: 1, service: 'sqs-idempotent-worker' }),
    ]);
  });

  it('redacts tokens, authorization headers and AWS credentials wherever callers put them', () => {
    const log = new MemoryLog();
    const logger = createLogger('debug', log);
    logger.info({ token: TOKEN, seedToken: TOKEN, SEED_TOKEN: TOKEN }, 'top level');
    logger.info({ headers: { authorization: `Bearer ${TOKEN}`, cookie: TOKEN } }, 'headers');
    logger.info({ req: { headers: { authorization: `Bearer ${TOKEN}` } } }, 'request');
    logger.info({ config: { seed: { token: TOKEN } } }, 'config');
    logger.info(
      { aws: { credentials: { accessKeyId: 'AKIA', secretAccessKey: TOKEN, sessionToken: TOKEN } } },
      'aws',
    );
    logger.info({ env: { AWS_SECRET_ACCESS_KEY: TOKEN, AWS_SESSION_TOKEN: TOKEN } }, 'env');
    logger.child({ token: TOKEN }).warn({}, 'child');
    expect(log.lines()).toHaveLength(7);
    expect(log.text).not.toContain(TOKEN);
    expect(log.text).toContain('[redacted]');
  });

  it('the sidecar logs seed calls without their authorization header', async () => {
    const log = new MemoryLog();
    const app = buildServer({
      registry: new Registry(),
      liveness: () => ({ ok: true, checks: {} }),
      readiness: () => ({ ok: true, checks: {} }),
      logger: createLogger('trace', log),
      seed: {
        access: { token: TOKEN, ratePerMinute: 100 },
        send: async () => {
          throw new Error('boom');
        },
        records: async () => ({ records: [], next: null }),
      },
    });
    await app.inject({ url: '/records', headers: { authorization: `Bearer ${TOKEN}` } });
    await app.inject({ url: '/records', headers: { authorization: `Bearer ${TOKEN}x` } });
    await app.inject({
      method: 'POST',
      url: '/seed',
      payload: { count: 1 },
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await app.close();
    const audit = log.lines().filter((l) => l.msg === 'seed route');
    expect(audit.map((l) => l.statusCode)).toEqual([200, 401, 503]);
    expect(log.text).not.toContain(TOKEN);
  });
});

describe('redaction (issue 12)', () => {
  const SECRET = 'hunter2-s3cr3t-value';

  it('redacts the documented names whatever their case, at any depth, and leaves the rest', () => {
    const log = new MemoryLog();
    const logger = createLogger('info', log);
    logger.info(
      {
        body: {
          user: 'ann',
          password: SECRET,
          nested: { deeper: { apiKey: SECRET, list: [{ Secret: SECRET }] } },
        },
        attributes: { Authorization: `Bearer ${SECRET}`, 'X-Api-Key': SECRET, traceId: 'abc' },
        a: { b: { c: { d: { e: { PASSWD: SECRET, api_key: SECRET, client_secret: SECRET } } } } },
        aws: { SecretAccessKey: SECRET, SessionToken: SECRET, privateKey: SECRET, Cookie: SECRET },
        fence: 3,
      },
      'handled message',
    );
    expect(log.text).not.toContain(SECRET);
    const [line] = log.lines();
    expect(line).toMatchObject({
      body: { user: 'ann', password: '[redacted]', nested: { deeper: { list: [{ Secret: '[redacted]' }] } } },
      attributes: { Authorization: '[redacted]', traceId: 'abc' },
      fence: 3,
    });
  });

  it('redacts in child bindings too', () => {
    const log = new MemoryLog();
    createLogger('info', log)
      .child({ headers: { Cookie: SECRET } })
      .info({}, 'x');
    expect(log.text).not.toContain(SECRET);
  });

  it('redacts the names LOG_REDACT adds, case-insensitively', () => {
    const log = new MemoryLog();
    createLogger('info', log, { redact: ['iban', 'Card_Number'] }).info(
      { payment: { IBAN: SECRET, cardNumber: SECRET, card_number: SECRET, amount: 5 } },
      'x',
    );
    expect(log.text).not.toContain(SECRET);
    expect(log.lines()[0]).toMatchObject({ payment: { amount: 5 } });
  });

  it('does not walk past its depth bound: deeper objects are elided, never written unchecked', () => {
    const log = new MemoryLog();
    let deep: Record<string, unknown> = { token: SECRET, fine: 1 };
    for (let i = 0; i < 50; i += 1) deep = { next: deep };
    createLogger('info', log).info({ deep }, 'x');
    expect(log.text).not.toContain(SECRET);
    expect(log.lines()).toHaveLength(1);
  });

  it('keeps errors as errors (the err serializer still sees them)', () => {
    const log = new MemoryLog();
    createLogger('info', log).warn({ err: new Error('boom') }, 'x');
    expect(log.lines()[0]).toMatchObject({ err: { type: 'Error', message: 'boom' } });
  });
});
