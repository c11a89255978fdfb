import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startCliFixture, type CliFixture } from '../helpers/cli.js';

/** The seed tools' workflow, through the real binary: produce, consume --count, show, clear. */
describe('sqs-worker produce / consume / records', () => {
  let cli: CliFixture;
  /** What a user's second terminal has: the emulators' queue and endpoints. */
  let env: Record<string, string>;
  const run = (args: string[]) => cli.run(args, { LOG_LEVEL: 'warn' });

  beforeAll(async () => {
    cli = await startCliFixture();
    env = cli.env;
  });

  afterAll(async () => {
    await cli.close();
  });

  // One workflow in steps, each its own test: a step spawns one or two processes, so a loaded
  // machine slows each test a little instead of pushing one long test past jest's timeout.
  let keys: string[] = [];

  it('produce sends --count messages with distinct keys, then --duplicates re-sends', async () => {
    const produced = await run(['produce', '--count', '3', '--duplicates', '1']);
    expect(produced.code).toBe(0);
    expect(produced.out).toEqual([
      expect.objectContaining({ sent: 4, failed: 0, duplicates: 1, keyPrefix: expect.any(String) }),
    ]);
    keys = [1, 2, 3].map((n) => `${produced.out[0]?.keyPrefix as string}${n}`);
  });

  it('consume --count handles exactly that many', async () => {
    const first = await run(['consume', '--count', '2']);
    expect(first.code).toBe(0);
    expect(first.out.at(-1)).toMatchObject({ consumed: 2, outcomes: { success: 2 } });
  });

  it('consume without --count handles the rest until the queue is empty, skipping the re-send', async () => {
    const rest = await run(['consume']);
    expect(rest.code).toBe(0);
    expect(rest.out.at(-1)).toMatchObject({ consumed: 2, outcomes: { success: 1, duplicate: 1 } });
  });

  it('records show lists one COMPLETED record per key', async () => {
    const shown = await run(['records', 'show']);
    expect(shown.code).toBe(0);
    expect(shown.out).toHaveLength(3);
    expect(shown.out.every((r) => r.status === 'COMPLETED')).toBe(true);
    expect(new Set(shown.out.map((r) => r.key))).toEqual(new Set(keys));
    const queueName = env.SQS_QUEUE_URL?.split('/').at(-1);
    expect(new Set(shown.out.map((r) => r.pk))).toEqual(new Set(keys.map((k) => `${queueName}#${k}`)));
  });

  it('records clear refuses without --yes when not on a terminal, and deletes nothing', async () => {
    const refused = await run(['records', 'clear']);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/usage error: .*--yes/);
    expect((await run(['records', 'show'])).out).toHaveLength(3);
  });

  it('records clear --yes deletes them', async () => {
    const cleared = await run(['records', 'clear', '--yes']);
    expect(cleared.out[0]).toEqual({ deleted: 3, skipped: 0 });
    expect((await run(['records', 'show'])).out).toHaveLength(0);
  });

  it('rejects an unknown option with exit 2 and a one-line error', async () => {
    const result = await run(['consume', '--cuont', '2']);
    expect(result.code).toBe(2);
    expect(result.err.trim().split('\n')).toHaveLength(1);
    expect(result.err).toContain('usage error: unknown flag --cuont for consume; did you mean --count?');
    expect(result.err).not.toContain('config error');
  });

  describe('dlq', () => {
    beforeAll(async () => {
      const text = (value: string) => ({ DataType: 'String', StringValue: value });
      await cli.sqs.send(
        new SendMessageCommand({
          QueueUrl: cli.dlqUrl,
          MessageBody: '{"order":"x"}',
          MessageAttributes: {
            IdempotencyKey: text('order-x'),
            DeadLetterReason: text('PERMANENT_ERROR'),
            DeadLetterMessage: text('PermanentError: bad order'),
            DeadLetterAttempts: { DataType: 'Number', StringValue: '2' },
            Region: text('eu'),
          },
        }),
      );
    });

    it('dlq show lists dead-lettered messages with their reason, leaving them in place', async () => {
      const shown = await run(['dlq', 'show']);
      expect(shown.code).toBe(0);
      expect(shown.out).toEqual([
        expect.objectContaining({
          key: 'order-x',
          reason: 'PERMANENT_ERROR',
          attempts: 2,
          attributes: { Region: 'eu' },
          detail: 'PermanentError: bad order',
          body: '{"order":"x"}',
        }),
      ]);
    });

    it('dlq redrive sends them back to the queue without the dead-letter attributes', async () => {
      const redriven = await run(['dlq', 'redrive']);
      expect(redriven.code).toBe(0);
      expect(redriven.out[0]).toEqual({ moved: 1, notSent: 0, notDeleted: 0 });
      const back = await cli.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: env.SQS_QUEUE_URL,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
        }),
      );
      expect(back.Messages?.[0]?.Body).toBe('{"order":"x"}');
      expect(Object.keys(back.Messages?.[0]?.MessageAttributes ?? {}).sort()).toEqual([
        'IdempotencyKey',
        'Region',
      ]);
      expect((await run(['dlq', 'show'])).out).toHaveLength(0);
    });
  });
});
