import { jest } from '@jest/globals';
import { resolveHandler } from '../../src/handlers/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { MemoryLog } from '../helpers/app.js';
import { twin, until } from '../helpers/runtime-twin.js';

beforeEach(() => {
  jest.useFakeTimers({ now: 1_750_000_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

const PASSWORD = 'pa55-w0rd-in-a-body';
const CARD = '4111-1111-1111-1111';
const BEARER = 'Bearer abc.def.ghi';

/** Runs HANDLER=log on one message with secrets in body and attributes; returns its log line. */
async function handledLine(
  logMessageBodies: boolean,
): Promise<{ text: string; line: Record<string, unknown> }> {
  const log = new MemoryLog();
  const logger = createLogger('info', log);
  const handler = await resolveHandler('log', {
    webhook: { url: undefined, timeoutMs: 1000 },
    logMessageBodies,
  });
  const t = twin(handler, { logger });
  await t.queue.send({
    body: JSON.stringify({ user: 'ann', password: PASSWORD, card: CARD }),
    attributes: {
      IdempotencyKey: { dataType: 'String', stringValue: 'order-1' },
      Authorization: { dataType: 'String', stringValue: BEARER },
    },
  });
  await t.runtime.start();
  await until(() => t.settled.length === 1, 'settled');
  await t.runtime.stop(1000);
  const line = log.lines().find((l) => l.msg === 'handled message');
  if (!line) throw new Error(`no "handled message" line in ${log.text}`);
  return { text: log.text, line };
}

describe('HANDLER=log', () => {
  it('logs metadata only by default: key, size, attribute names; no body, no attribute values', async () => {
    const { text, line } = await handledLine(false);
    expect(line).toMatchObject({
      key: 'order-1',
      bodyBytes: 76,
      bodyKind: 'json',
      attributeNames: ['Authorization', 'IdempotencyKey'],
    });
    expect(line).not.toHaveProperty('body');
    expect(line).not.toHaveProperty('attributes');
    for (const secret of [PASSWORD, CARD, BEARER]) expect(text).not.toContain(secret);
  });

  it('with LOG_MESSAGE_BODIES=true logs the body and attributes, secrets redacted', async () => {
    const { text, line } = await handledLine(true);
    expect(line).toMatchObject({
      body: { user: 'ann', password: '[redacted]', card: CARD },
      attributes: { Authorization: '[redacted]', IdempotencyKey: 'order-1' },
    });
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(BEARER);
  });
});
