import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';

/**
 * The size limits of src/ (eslint.config.js, STYLE.md habit 10) are on: a file under src/ one
 * line over 400, or a function one line over 80, is rejected; one at the limit is not.
 */
const eslint = new ESLint();

/** `count` lines: numbered statements, one a line (ESLint counts every line, blank ones too). */
const lines = (count: number, indent = ''): string[] =>
  Array.from({ length: count }, (_, i) => `${indent}export const v${i} = ${i};`);

async function ruleIds(text: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath });
  return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
}

/** A function whose declaration spans `count` lines, braces included. */
function fn(count: number): string {
  const body = Array.from({ length: count - 2 }, (_, i) => `  void ${i};`);
  return ['export function probe(): void {', ...body, '}', ''].join('\n');
}

describe('size limits of src/', () => {
  it('rejects a file of 401 lines and accepts one of 400', async () => {
    const over = await ruleIds(`${lines(401).join('\n')}\n`, 'src/core/size-probe.ts');
    const at = await ruleIds(`${lines(400).join('\n')}\n`, 'src/core/size-probe.ts');
    expect(over).toEqual(['max-lines']);
    expect(at).toEqual([]);
  });

  it('rejects a function of 81 lines and accepts one of 80', async () => {
    expect(await ruleIds(fn(81), 'src/worker/size-probe.ts')).toEqual(['max-lines-per-function']);
    expect(await ruleIds(fn(80), 'src/worker/size-probe.ts')).toEqual([]);
  });

  it('holds for every file of src/, the composition root included', async () => {
    for (const file of ['src/app.ts', 'src/main.ts', 'src/http/server.ts', 'src/config/schema.ts']) {
      const config = (await eslint.calculateConfigForFile(file)) as { rules: Record<string, unknown> };
      expect([file, config.rules['max-lines']]).toEqual([file, [2, 400]]);
      expect([file, config.rules['max-lines-per-function']]).toEqual([file, [2, 80]]);
    }
  });
});
