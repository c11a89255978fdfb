import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createDynamoClient } from '../../src/aws/clients.js';
import { DynamoDbIdempotencyStore } from '../../src/aws/dynamodb-store.js';
import { namespacedPk } from '../../src/core/idempotency-store.js';
import { startCliFixture, type CliFixture } from '../helpers/cli.js';
import { eventually } from '../helpers/process.js';
import { TEST_AWS_CALLS } from '../helpers/test-limits.js';

/** consume, records, queue and table commands against the embedded emulators. */
describe('sqs-worker consume / records / queue / table', () => {
  let f: CliFixture;
  let dir: string;

  beforeAll(async () => {
    f = await startCliFixture();
    dir = mkdtempSync(join(tmpdir(), 'sqs-worker-records-'));
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await f.close();
  });

  /** Each test on its own queue (and so its own namespace of records). */
  let env: Record<string, string> = {};
  let n = 0;
  beforeEach(async () => {
    n += 1;
    env = await f.queue(`q${n}`);
  });

  const run = (args: string[], more: Record<string, string> = {}) => f.run(args, { ...env, ...more });

  async function produceKeys(...keys: string[]): Promise<void> {
    const file = join(dir, 'keys.jsonl');
    writeFileSync(file, keys.map((key) => JSON.stringify({ body: { key }, key })).join('\n'));
    const produced = await run(['produce', '--file', file]);
    expect(produced.code).toBe(0);
  }

  describe('consume', () => {
    /** An HTTP proxy in front of fauxqs that notes each ReceiveMessage's WaitTimeSeconds. */
    let proxy: Server;
    let proxyUrl: string;
    const waits: number[] = [];

    beforeAll(async () => {
      const target = new URL(f.env.AWS_ENDPOINT_URL_SQS as string);
      proxy = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          if (String(req.headers['x-amz-target']).endsWith('ReceiveMessage')) {
            waits.push((JSON.parse(body.toString()) as { WaitTimeSeconds?: number }).WaitTimeSeconds ?? -1);
          }
          const upstream = request(
            {
              host: target.hostname,
              port: target.port,
              method: req.method,
              path: req.url,
              headers: req.headers,
            },
            (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
            },
          );
          upstream.end(body);
        });
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const address = proxy.address();
      proxyUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    });

    it('without --count stops after one short empty receive (--wait), not a full long poll', async () => {
      waits.length = 0;
      const result = await run(['consume', '--wait', '2'], {
        AWS_ENDPOINT_URL_SQS: proxyUrl,
        SQS_WAIT_TIME_SECONDS: '20',
      });
      expect(result.code).toBe(0);
      expect(result.out.at(-1)).toEqual({ consumed: 0, outcomes: {} });
      expect(waits.length).toBeGreaterThan(0);
      expect(new Set(waits)).toEqual(new Set([2]));
    });

    it('SIGINT stops receiving, lets the messages in hand finish and prints the summary (exit 130)', async () => {
      await produceKeys('sig-1', 'sig-2', 'sig-3');
      const cli = f.spawn(['consume', '--count', '1000'], env);
      await eventually(async () => (cli.lines.length >= 3 ? true : undefined));
      cli.child.kill('SIGINT');
      const { code } = await cli.exit();
      expect(code).toBe(130);
      expect(cli.lines.at(-1)).toEqual({ consumed: 3, outcomes: { success: 3 }, interrupted: true });
    });

    it('an explicit LOG_LEVEL=info is respected (the default for one-shot commands is warn)', async () => {
      await produceKeys('log-1');
      const quiet = await run(['consume', '--count', '1']);
      expect(quiet.err).not.toContain('"level":"info"');
      await produceKeys('log-2');
      const loud = await run(['consume', '--count', '1'], { LOG_LEVEL: 'info' });
      expect(loud.code).toBe(0);
      expect(loud.err).toContain('"level":"info"');
    });
  });

  describe('records', () => {
    beforeEach(async () => {
      await produceKeys('order-1', 'order-2');
      const consumed = await run(['consume', '--count', '2']);
      if (consumed.code !== 0) throw new Error(`consume failed: ${consumed.err}`);
    });

    it('records show gives each record with its key, as GET /records does', async () => {
      const shown = await run(['records', 'show', '--status', 'completed']);
      expect(shown.code).toBe(0);
      expect(shown.out.map((r) => r.key)).toEqual(expect.arrayContaining(['order-1', 'order-2']));
    });

    it('records get KEY prints that record; an unknown key exits 1', async () => {
      const got = await run(['records', 'get', 'order-1']);
      expect(got.code).toBe(0);
      expect(got.out).toEqual([
        expect.objectContaining({ key: 'order-1', status: 'COMPLETED', attempts: 1 }),
      ]);
      const missing = await run(['records', 'get', 'no-such-key']);
      expect(missing.code).toBe(1);
      expect(missing.err).toContain('no record for key "no-such-key"');
    });

    it('records forget KEY makes that key claimable again: a re-send is handled, not skipped', async () => {
      await produceKeys('order-1');
      expect((await run(['consume', '--count', '1'])).out.at(-1)).toMatchObject({
        outcomes: { duplicate: 1 },
      });
      const forgotten = await run(['records', 'forget', 'order-1']);
      expect(forgotten.code).toBe(0);
      expect(forgotten.out).toEqual([{ key: 'order-1', forgotten: true }]);
      expect((await run(['records', 'get', 'order-1'])).code).toBe(1);
      expect((await run(['records', 'get', 'order-2'])).code).toBe(0);
      await produceKeys('order-1');
      expect((await run(['consume', '--count', '1'])).out.at(-1)).toMatchObject({
        outcomes: { success: 1 },
      });
    });

    /** A live claim of `key` in this test's namespace, as a worker running its handler holds it. */
    async function holdLiveClaim(key: string): Promise<void> {
      const dynamodb = createDynamoClient({
        region: 'us-east-1',
        sqsEndpoint: undefined,
        dynamodbEndpoint: f.env.AWS_ENDPOINT_URL_DYNAMODB,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        awsCalls: TEST_AWS_CALLS,
      });
      try {
        const store = new DynamoDbIdempotencyStore(dynamodb, 'sqs-worker-idempotency');
        const now = Date.now();
        const namespace = (env.SQS_QUEUE_URL as string).split('/').at(-1) as string;
        const claimed = await store.claim({
          pk: namespacedPk(namespace, key),
          payloadHash: 'h',
          owner: 'other-worker:token',
          now,
          leaseExpiresAtMs: now + 600_000,
          expiresAt: Math.floor(now / 1000) + 3600,
        });
        expect(claimed).toMatchObject({ kind: 'acquired' });
      } finally {
        dynamodb.destroy();
      }
    }

    it('records forget deletes a record that cannot be decoded (the way out of CorruptRecordError)', async () => {
      await holdLiveClaim('corrupt');
      const dynamodb = createDynamoClient({
        region: 'us-east-1',
        sqsEndpoint: undefined,
        dynamodbEndpoint: f.env.AWS_ENDPOINT_URL_DYNAMODB,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      try {
        const namespace = (env.SQS_QUEUE_URL as string).split('/').at(-1) as string;
        // A fractional fence: the one corruption no condition can refuse, rejected on reading.
        await dynamodb.send(
          new UpdateItemCommand({
            TableName: 'sqs-worker-idempotency',
            Key: { pk: { S: namespacedPk(namespace, 'corrupt') } },
            UpdateExpression: 'SET fence = :f',
            ExpressionAttributeValues: { ':f': { N: '1.5' } },
          }),
        );
      } finally {
        dynamodb.destroy();
      }
      expect((await run(['records', 'get', 'corrupt'])).code).toBe(1);
      const forgotten = await run(['records', 'forget', 'corrupt']);
      expect(forgotten.out).toEqual([{ key: 'corrupt', forgotten: true }]);
      expect(forgotten.code).toBe(0);
    });

    it('records forget refuses a key a worker holds a live claim on, unless --force', async () => {
      await holdLiveClaim('busy');
      const refused = await run(['records', 'forget', 'busy']);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('is claimed by other-worker:token');
      expect((await run(['records', 'get', 'busy'])).out[0]).toMatchObject({ status: 'IN_PROGRESS' });
      const forced = await run(['records', 'forget', 'busy', '--force']);
      expect(forced.out).toEqual([{ key: 'busy', forgotten: true }]);
    });

    it('records clear keeps live claims unless --force, says how many it kept, and can run twice', async () => {
      await holdLiveClaim('running');
      await produceKeys('done-1');
      expect((await run(['consume', '--count', '1'])).code).toBe(0);
      const before = (await run(['records', 'show'])).out.length; // this one, done-1, and earlier tests'
      // No clock-skew margin: each clear waits out the caches' quiet time twice (cacheQuietMs).
      const clear = (...more: string[]) =>
        run(['records', 'clear', '--yes', ...more], { LEASE_CLOCK_SKEW: '0' });
      const cleared = await clear();
      expect(cleared.code).toBe(0);
      expect(cleared.out).toEqual([{ deleted: before - 1, skipped: 1 }]);
      expect(cleared.err).toContain('records clear: kept 1 live claim');
      expect((await run(['records', 'get', 'running'])).out[0]).toMatchObject({ status: 'IN_PROGRESS' });
      expect((await run(['records', 'get', 'done-1'])).code).toBe(1);
      const again = await clear();
      expect(again.out).toEqual([{ deleted: 0, skipped: 1 }]);
      const forced = await clear('--force');
      expect(forced.out).toEqual([{ deleted: 1, skipped: 0 }]);
      expect(forced.err).not.toContain('kept');
      expect((await run(['records', 'get', 'running'])).code).toBe(1);
    }, 90_000);

    it('records forget of a key with no record says so and exits 1, as records get does', async () => {
      const forgot = await run(['records', 'forget', 'never-seen']);
      expect(forgot.code).toBe(1);
      expect(forgot.out).toEqual([]);
      expect(forgot.err).toMatch(/^no record for key "never-seen" in namespace q\d+\n$/);
    });
  });

  describe('queue and table', () => {
    it('queue stats counts visible, in flight and delayed for the queue and its DLQ', async () => {
      await produceKeys('s-1', 's-2', 's-3');
      await f.sqs.send(new ReceiveMessageCommand({ QueueUrl: env.SQS_QUEUE_URL, MaxNumberOfMessages: 1 }));
      const stats = await run(['queue', 'stats']);
      expect(stats.code).toBe(0);
      expect(stats.out).toEqual([
        expect.objectContaining({ role: 'queue', visible: 2, inFlight: 1, delayed: 0 }),
        expect.objectContaining({ role: 'dlq', visible: 0, inFlight: 0, delayed: 0 }),
      ]);
    });

    it('queue purge needs --yes, and then empties the queue', async () => {
      await produceKeys('p-1');
      expect((await run(['queue', 'purge'])).code).toBe(2);
      const purged = await run(['queue', 'purge', '--yes']);
      expect(purged.code).toBe(0);
      const stats = await eventually(async () => {
        const s = await run(['queue', 'stats']);
        return s.out[0]?.visible === 0 ? s : undefined;
      });
      expect(stats.out[0]).toMatchObject({ visible: 0 });
    });

    it('table create reports TTL as unsupported by dynalite, not as an error', async () => {
      const created = await run(['table', 'create']);
      expect(created.code).toBe(0);
      expect(created.out).toEqual([{ table: 'sqs-worker-idempotency', ttl: 'unsupported by this store' }]);
      expect(created.stdout).not.toContain('ttlError');
    });

    it('the emulators say calmly, in one info line, that dynalite has no TTL', () => {
      const lines = f.emulators.lines.filter((l) => /TTL/.test(String(l.msg)));
      expect(lines).toEqual([expect.objectContaining({ level: 'info' })]);
      expect(f.emulators.stdout()).not.toContain('UnknownOperationException');
      expect(f.emulators.lines.filter((l) => l.level === 'warn')).toEqual([]);
    });
  });
});
