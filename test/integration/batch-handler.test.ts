import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MessageEvent } from '../../src/core/events.js';
import { resolveHandler } from '../../src/handlers/index.js';
import { fixture, queueCounts, runtime, send, useTestAws } from '../helpers/aws.js';
import { eventually } from '../helpers/process.js';

/**
 * The batch handler example (examples/bulk-handler.mjs) on fauxqs and dynalite: claimed messages go
 * to the bulk endpoint together, and each is settled by its own status: 200 completes, 400
 * dead-letters, 503 retries that message alone.
 */
describe('handleBatch on the wire (examples/bulk-handler.mjs)', () => {
  const aws = useTestAws();
  const posts: { key: string; fence: number }[][] = [];
  const refusedOnce = new Set<string>();
  const bulk = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      const { items } = JSON.parse(body) as { items: { key: string; fence: number }[] };
      posts.push(items.map(({ key, fence }) => ({ key, fence })));
      const statuses = items.map(({ key }) => {
        if (key === 'bad') return 400;
        if (key === 'flaky' && !refusedOnce.has(key)) {
          refusedOnce.add(key);
          return 503;
        }
        return 200;
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ statuses }));
    });
  });

  beforeAll(async () => {
    await new Promise<void>((r) => bulk.listen(0, '127.0.0.1', r));
    process.env.BULK_URL = `http://127.0.0.1:${(bulk.address() as AddressInfo).port}/bulk`;
  });

  afterAll(async () => {
    delete process.env.BULK_URL;
    await new Promise<void>((r) => bulk.close(() => r()));
  });

  it('writes claimed messages in bulk and settles each by its own outcome', async () => {
    const handler = await resolveHandler('examples/bulk-handler.mjs', {
      webhook: { url: undefined, timeoutMs: 1000 },
      handlerBatchWindowMs: 50,
      batchSize: 10,
    });
    const f = await fixture(aws);
    const worker = await runtime(aws, f, handler, { env: { RECEIVE_CONCURRENCY: '1' } });
    const events: MessageEvent[] = [];
    worker.on('message_settled', (e) => events.push(e));
    const keys = ['a', 'b', 'c', 'flaky', 'bad', 'd', 'e', 'f'];
    await send(
      aws,
      f.queueUrl,
      keys.map((key, i) => ({ body: `{"n":${i}}`, key })),
    );
    await worker.start();
    // 8 first deliveries, and the flaky one again.
    await eventually(async () => (events.length === 9 ? true : undefined));
    await worker.stop(1000);
    const outcomes = new Map<string, string[]>();
    for (const e of events) {
      outcomes.set(e.message.key, [...(outcomes.get(e.message.key) ?? []), e.processed.outcome]);
    }
    expect(outcomes.get('flaky')).toEqual(['retry', 'success']);
    expect(outcomes.get('bad')).toEqual(['dead_lettered']);
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) expect(outcomes.get(key)).toEqual(['success']);
    // Fewer posts than messages: they went in bulk; the retry went alone, with a new fence.
    expect(posts.length).toBeLessThan(keys.length);
    expect(posts.at(-1)).toEqual([{ key: 'flaky', fence: 2 }]);
    expect(posts.flat().filter((p) => p.key !== 'flaky')).toHaveLength(7);
    expect(await queueCounts(aws, f.queueUrl)).toMatchObject({ visible: 0, inFlight: 0 });
    expect(await queueCounts(aws, f.dlqUrl)).toMatchObject({ visible: 1 });
  });
});
