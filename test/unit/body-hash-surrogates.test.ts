import { createHash } from 'node:crypto';
import { hashBody, payloadHash } from '../../src/core/idempotency.js';

/**
 * Issue 19, item 12: UTF-8 encoding maps a lone surrogate to U+FFFD, so a text body with one and
 * the same body with U+FFFD hashed alike (`duplicate` where `payload_mismatch` is right). Text
 * bodies with a lone surrogate are hashed from their exact UTF-16 code units; every other body
 * keeps the hash it always had, so stored records still match.
 */
const sha = (...parts: (string | Buffer)[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return `v2:${hash.digest('hex')}`;
};

describe('hashBody and lone surrogates', () => {
  it('tells a lone surrogate from U+FFFD, and lone surrogates from each other', () => {
    const hashes = ['a\uD800b', 'a\uFFFDb', 'a\uDC00b', 'a\uD801b', '\uD800', '\uFFFD'].map(payloadHash);
    expect(new Set(hashes).size).toBe(6);
  });

  it('hashes a text body with a lone surrogate from `text16:` and its UTF-16LE code units', () => {
    const body = 'x\uDFFFy';
    expect(payloadHash(body)).toBe(sha('text16:', Buffer.from([0x78, 0x00, 0xff, 0xdf, 0x79, 0x00])));
  });

  it('keeps the hash of every well-formed body as it was: `text:` or `json:` and UTF-8', () => {
    for (const body of ['hello', 'a\uFFFDb', 'pair \uD83D\uDE00 ok', 'é']) {
      expect(hashBody(body)).toEqual({ hash: sha(Buffer.from(`text:${body}`, 'utf8')) });
    }
    expect(payloadHash('{"b":1,"a":"\uD83D\uDE00"}')).toBe(
      sha(Buffer.from('json:{"a":"\uD83D\uDE00","b":1}', 'utf8')),
    );
  });

  it('JSON bodies already differed: their canonical form escapes a lone surrogate', () => {
    expect(payloadHash('"\\ud800"')).not.toBe(payloadHash('"\\ufffd"'));
    expect(payloadHash('["\uD800"]')).not.toBe(payloadHash('["\uFFFD"]'));
    expect(payloadHash('["\uD800"]')).toBe(payloadHash('["\\ud800"]'));
  });
});
