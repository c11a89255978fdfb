import { ConfigError } from '../../src/core/errors.js';
import { resolveHandler, type HandlerSettings } from '../../src/handlers/index.js';

/**
 * HANDLER outside embedded mode (issue 21, item 2): a worker on a real queue with no HANDLER used
 * to run the log handler, which logs and deletes every message. Now the handler is chosen
 * explicitly there; embedded mode (no SQS_QUEUE_URL) keeps `log` as its default.
 */
const REAL_QUEUE = 'https://sqs.us-east-1.amazonaws.com/111122223333/orders';
const settings = (queueUrl: string | undefined): HandlerSettings => ({
  webhook: { url: undefined, timeoutMs: 1000 },
  queueUrl,
});

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

describe('choosing the handler', () => {
  it('refuses a real queue without HANDLER, naming the variable, the choices and the docs', async () => {
    const error = await rejection(resolveHandler(undefined, settings(REAL_QUEUE)));
    expect(error.variable).toBe('HANDLER');
    expect(error.message).toMatch(/^HANDLER is not set/);
    expect(error.message).toMatch(/SQS_QUEUE_URL/);
    expect(error.message).toMatch(/HANDLER=log/);
    expect(error.message).toMatch(/webhook/);
    expect(error.message).toMatch(/module/);
    expect(error.message).toMatch(/docs\/deploy\.md/);
    // One line: the CLI prints it as `config error: <message>` on one line of stderr.
    expect(error.message).not.toMatch(/\n/);
  });

  it('runs the log handler on a real queue when it is named', async () => {
    await expect(resolveHandler('log', settings(REAL_QUEUE))).resolves.toEqual(expect.any(Function));
  });

  it('keeps log as the default in embedded mode (no SQS_QUEUE_URL)', async () => {
    await expect(resolveHandler(undefined, settings(undefined))).resolves.toEqual(expect.any(Function));
  });

  it('still names the built-ins for a word that is none of them', async () => {
    const error = await rejection(resolveHandler('logs', settings(REAL_QUEUE)));
    expect(error.message).toMatch(/not a built-in handler \(log, webhook\)/);
  });
});
