import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { startCliFixture, type CliFixture } from '../helpers/cli.js';
import { eventually } from '../helpers/process.js';

/** `sqs-worker produce` against the embedded emulators, through the real binary. */
describe('sqs-worker produce', () => {
  let f: CliFixture;
  let dir: string;

  beforeAll(async () => {
    f = await startCliFixture();
    dir = mkdtempSync(join(tmpdir(), 'sqs-worker-produce-'));
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await f.close();
  });

  beforeEach(async () => {
    await f.sqs.send(new PurgeQueueCommand({ QueueUrl: f.queueUrl }));
  });

  async function visible(): Promise<number> {
    const out = await f.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: f.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  }

  it('sends more than the old 10,000 cap, with one summary line and plain progress lines on stderr', async () => {
    const result = await f.run(['produce', '--count', '12000', '--duplicates', '5']);
    expect(result.code).toBe(0);
    expect(result.out).toEqual([
      expect.objectContaining({
        sent: 12_005,
        failed: 0,
        duplicates: 5,
        unsent: 0,
        keyPrefix: expect.any(String),
      }),
    ]);
    expect(result.out[0]?.msgsPerSecond).toEqual(expect.any(Number));
    // A summary, not every key: the line stays short.
    expect(result.stdout.length).toBeLessThan(400);
    // Not a terminal: a plain line per tenth, ending with the total.
    const progress = result.err.split('\n').filter((l) => l.startsWith('produce: '));
    expect(progress.length).toBe(10);
    expect(progress.at(-1)).toMatch(/^produce: 12005\/12005 \(\d+\/s\)$/);
    expect(await visible()).toBe(12_005);
  });

  it('--rate paces the sends and still sends them all', async () => {
    const result = await f.run(['produce', '--count', '30', '--rate', '1000']);
    expect(result.code).toBe(0);
    expect(result.out[0]).toMatchObject({ sent: 30, failed: 0 });
  });

  it('--file sends one message a line with its key and attributes, counting duplicate keys', async () => {
    const file = join(dir, 'messages.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ body: { order: 1 }, key: 'order-1', attributes: { tenant: 'acme' } }),
        '',
        JSON.stringify({ body: 'plain text', key: 'order-2' }),
        JSON.stringify({ body: { order: 1 }, key: 'order-1', attributes: { tenant: 'acme' } }),
      ].join('\n'),
    );
    const result = await f.run(['produce', '--file', file]);
    expect(result.code).toBe(0);
    expect(result.out[0]).toMatchObject({ sent: 3, failed: 0, duplicates: 1 });
    const received = await eventually(async () => {
      const out = await f.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: f.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
        }),
      );
      return out.Messages?.length === 3 ? out.Messages : undefined;
    });
    const first = received.find((m) => m.Body === '{"order":1}');
    expect(first?.MessageAttributes?.IdempotencyKey?.StringValue).toBe('order-1');
    expect(first?.MessageAttributes?.tenant?.StringValue).toBe('acme');
    expect(received.map((m) => m.Body).sort()).toEqual(['plain text', '{"order":1}', '{"order":1}']);
  });

  it.each([
    ['{"body": 1}\n{"body": 2, "colour": "red"}\n', 'line 2: unknown field "colour"'],
    ['{"body": 1}\nnot json\n', 'line 2: not JSON'],
    ['{"key": "k"}\n', 'line 1: no body'],
    ['{"body": 1, "group": "g"}\n', 'line 1, groupId: groupId applies to FIFO queues only'],
    [
      '{"body": "ok"}\n{"body": "NUL \\u0000"}\n',
      'line 2.body: character U+0000 at index 4 is not allowed by SQS',
    ],
  ])(
    '--file with a bad line (%j) is a usage error naming the line; nothing is sent',
    async (text, message) => {
      const file = join(dir, 'bad.jsonl');
      writeFileSync(file, text);
      const result = await f.run(['produce', '--file', file]);
      expect(result.code).toBe(2);
      expect(result.err).toContain(message);
      expect(await visible()).toBe(0);
    },
  );

  it('a message SQS refuses is listed with its key and reason, the others sent; exit 1', async () => {
    const file = join(dir, 'refused.jsonl');
    const lines = [
      { body: 'ok 1', key: 'k1' },
      // SQS takes characters above U+FFFF; fauxqs refuses them (FACTS.md): a real Failed entry.
      { body: 'an emoji \u{1F600} fauxqs refuses', key: 'k2' },
      { body: 'ok 3', key: 'k3' },
    ];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    const result = await f.run(['produce', '--file', file]);
    expect(result.code).toBe(1);
    expect(result.out).toEqual([
      expect.objectContaining({ sent: 2, failed: 1, unsent: 0 }),
      expect.objectContaining({ message: 2, key: 'k2', code: expect.any(String) }),
    ]);
    expect(result.err).toContain('1 messages were not sent after retries');
    expect(await visible()).toBe(2);
  });

  it('--group on a standard queue is a usage error', async () => {
    const result = await f.run(['produce', '--group', 'g']);
    expect(result.code).toBe(2);
    expect(result.err).toContain('--group applies to FIFO queues only');
  });

  it('SIGINT stops after the batches in flight and reports what was sent (exit 130)', async () => {
    const cli = f.spawn(['produce', '--count', '20000', '--rate', '2000']);
    await eventually(async () => (cli.stderr().includes('produce: ') ? true : undefined));
    cli.child.kill('SIGINT');
    const { code } = await cli.exit();
    expect(code).toBe(130);
    expect(cli.lines).toEqual([expect.objectContaining({ interrupted: true, failed: 0 })]);
    const summary = cli.lines[0] as { sent: number; unsent: number };
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary.unsent).toBeGreaterThan(0);
    expect(summary.sent + summary.unsent).toBe(20_000);
    expect(await visible()).toBe(summary.sent);
  });
});
