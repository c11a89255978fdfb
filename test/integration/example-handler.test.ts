import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveHandler } from '../../src/handlers/index.js';
import type { MessageEvent } from '../../src/core/events.js';
import { fixture, runtime, send, useTestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';

describe('the README example handler module (examples/order-handler.mjs)', () => {
  const aws = useTestAws();
  const charges: { fence: number; orderId: number; key: string | undefined }[] = [];
  const payments = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { fence: number; orderId: number };
      charges.push({ ...parsed, key: req.headers['idempotency-key'] as string | undefined });
      res.writeHead(200).end();
    });
  });

  beforeAll(async () => {
    await new Promise<void>((r) => payments.listen(0, '127.0.0.1', r));
    process.env.PAYMENTS_URL = `http://127.0.0.1:${(payments.address() as AddressInfo).port}/charge`;
  });

  afterAll(async () => {
    delete process.env.PAYMENTS_URL;
    await new Promise<void>((r) => payments.close(() => r()));
  });

  it('loads by path, charges valid orders once with the fencing token, dead-letters bad bodies', async () => {
    const handler = await resolveHandler('examples/order-handler.mjs', {
      webhook: { url: undefined, timeoutMs: 1000 },
    });
    const f = await fixture(aws);
    const worker = await runtime(aws, f, handler);
    const events: MessageEvent[] = [];
    worker.on('message_settled', (e) => events.push(e));
    await worker.start();
    await send(aws, f.queueUrl, [
      { body: '{"orderId":41}', key: 'order-41' },
      { body: '{"orderId":41}', key: 'order-41' },
      { body: '{"order":"?"}', key: 'order-x' },
    ]);
    await eventually(async () => (events.length === 3 ? true : undefined));
    await worker.stop(0);
    const byKey = Object.fromEntries(events.map((e) => [`${e.message.key}:${e.processed.outcome}`, e]));
    expect(Object.keys(byKey).sort()).toEqual([
      'order-41:duplicate',
      'order-41:success',
      'order-x:dead_lettered',
    ]);
    expect(charges).toEqual([{ orderId: 41, fence: 1, key: 'order-41' }]);
  });
});
