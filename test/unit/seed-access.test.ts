import { isLoopback, seedAccess } from '../../src/http/access.js';

const TOKEN = 'a-token-of-16-chars-or-more';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';

describe('seedAccess', () => {
  it.each([
    [
      'embedded, defaults: open on loopback',
      undefined,
      undefined,
      undefined,
      { token: undefined, embedded: true },
    ],
    ['embedded, with a token: token required', undefined, undefined, TOKEN, { token: TOKEN, embedded: true }],
    ['embedded, SEED_ENABLED=false: off', undefined, false, undefined, undefined],
    ['real queue, defaults: off', QUEUE, undefined, TOKEN, undefined],
    ['real queue, SEED_ENABLED=true with a token', QUEUE, true, TOKEN, { token: TOKEN, embedded: false }],
    ['real queue, SEED_ENABLED=true without a token: never open', QUEUE, true, undefined, undefined],
  ])('%s', (_name, queueUrl, enabled, token, expected) => {
    const access = seedAccess({ queueUrl, seed: { enabled, token, ratePerMinute: 60 } });
    expect(access).toEqual(expected === undefined ? undefined : { ...expected, ratePerMinute: 60 });
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.12.0.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['1270.0.0.1', false],
    [undefined, false],
  ])('%s -> %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});
