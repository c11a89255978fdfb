import type { InjectOptions } from 'fastify';
import { buildServer } from '../../src/http/server.js';
import { sidecarDeps } from '../helpers/sidecar.js';

/**
 * Input SQS refuses is a 400 naming the field before anything is sent; it used to reach SQS and
 * come back as a 503 ("Failed to send messages") or crash JSON.stringify (also a 503).
 */

const seed = (payload: string | object): InjectOptions => ({
  method: 'POST',
  url: '/seed',
  headers: { 'content-type': 'application/json' },
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
});

/** `depth` nested arrays around 1, as JSON text (JSON.stringify cannot write it: it recurses). */
const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

async function rejected(payload: string | object): Promise<{ field: string; message: string }> {
  const d = sidecarDeps();
  const res = await buildServer(d).inject(seed(payload));
  expect(d.seeded).toHaveLength(0);
  expect(res.statusCode).toBe(400);
  const body = res.json() as { error: string; field: string; message: string };
  expect(body.error).toBe('Bad Request');
  return body;
}

describe('POST /seed: characters SQS refuses', () => {
  it.each([
    ['NUL', '\u0000'],
    ['U+0001', '\u0001'],
    ['U+0008', '\u0008'],
    ['U+001F', '\u001f'],
    ['U+FFFE', '\ufffe'],
    ['U+FFFF', '\uffff'],
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate', '\udfff'],
  ])('a string body with %s is a 400 naming messages.0.body', async (_name, ch) => {
    const { field, message } = await rejected({ messages: [{ body: `ok ${ch} ok` }] });
    expect(field).toBe('messages.0.body');
    expect(message).toContain('not allowed by SQS');
  });

  it('a JSON body whose string holds U+FFFE (JSON.stringify leaves it as is) is a 400', async () => {
    const { field } = await rejected({ messages: [{ body: { note: 'x\ufffe' } }] });
    expect(field).toBe('messages.0.body');
  });

  it.each([
    ['key', { body: 'x', key: 'k\ufffe' }, 'messages.0.key'],
    ['key', { body: 'x', key: 'k\ud800' }, 'messages.0.key'],
    ['attribute value', { body: 'x', attributes: { a: 'v\u0000' } }, 'messages.0.attributes.a'],
    ['attribute value', { body: 'x', attributes: { a: 'v\udc00' } }, 'messages.0.attributes.a'],
  ])('a %s SQS refuses is a 400 naming it', async (_what, message, field) => {
    expect((await rejected({ messages: [{ body: 'fine' }, message] })).field).toBe(
      field.replace('messages.0', 'messages.1'),
    );
  });

  it('accepts tab, newline, carriage return, a surrogate pair and the top of the BMP', async () => {
    const d = sidecarDeps();
    const body = 'a\tb\nc\rd \u{1F600} \ufffd \ud7ff \ue000';
    const res = await buildServer(d).inject(
      seed({ messages: [{ body, key: `k-\u{1F600}`, attributes: { note: body } }] }),
    );
    expect(res.statusCode).toBe(202);
    expect(d.seeded).toHaveLength(1);
  });
});

describe('POST /seed: deep bodies', () => {
  it('a body nested 10,000 deep is a 400 naming messages.0.body, not a stack overflow', async () => {
    const { field, message } = await rejected(`{"messages":[{"body":${nested(10_000)}}]}`);
    expect(field).toBe('messages.0.body');
    expect(message).toContain('nested deeper than 256 levels');
  });

  it('a body nested 256 deep is sent', async () => {
    const d = sidecarDeps();
    const res = await buildServer(d).inject(seed(`{"messages":[{"body":${nested(256)}}]}`));
    expect(res.statusCode).toBe(202);
  });
});

describe('POST /seed: attribute names SQS refuses', () => {
  it.each([
    ['ends with a period', 'name.'],
    ['starts with a period', '.name'],
    ['contains ..', 'a..b'],
    ['AWS. prefix', 'AWS.trace'],
    ['aws. prefix in another case', 'aWs.trace'],
    ['Amazon. prefix', 'Amazon.x'],
    ['AMAZON. prefix', 'AMAZON.x'],
    ['over 256 characters', 'a'.repeat(257)],
    ['a space', 'bad name'],
    ['a non-ASCII letter', 'naïve'],
    ['a control character', 'a\u0001b'],
  ])('%s is a 400 naming the attribute', async (_rule, name) => {
    const { field, message } = await rejected({ messages: [{ body: 'x', attributes: { [name]: 'v' } }] });
    expect(field).toBe(`messages.0.attributes.${name}`);
    expect(message).toMatch(/^attribute name /);
  });

  it.each(['a', 'A.b', 'x-y_z.1', 'AWSTrace', 'Amazon_x', 'a'.repeat(256)])('accepts %s', async (name) => {
    const res = await buildServer(sidecarDeps()).inject(
      seed({ messages: [{ body: 'x', attributes: { [name]: 'v' } }] }),
    );
    expect(res.statusCode).toBe(202);
  });

  it('body and attributes over 256 KiB together are a 400 naming the attributes', async () => {
    const attributes = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`a${i}`, 'v'.repeat(1024)]));
    const { field } = await rejected({ messages: [{ body: 'b'.repeat(262_144 - 4000), attributes }] });
    expect(field).toBe('messages.0.attributes');
  });
});

describe('GET /records: cursors no record key can have', () => {
  it.each([
    ['a NUL', 'q%23k%00'],
    ['U+FFFE', 'q%23%EF%BF%BE'],
    ['over 2048 bytes', '%C3%A9'.repeat(1025)],
  ])('a cursor with %s is a 400 naming cursor', async (_what, cursor) => {
    const d = sidecarDeps();
    const res = await buildServer(d).inject(`/records?cursor=${cursor}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'cursor' });
    expect(d.listed).toHaveLength(0);
  });
});
