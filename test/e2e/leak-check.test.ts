import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isAlive, runProcess } from '../helpers/process.js';

const ROOT = resolve('.');

/**
 * The run's own guard against leaked processes (test/helpers/children.ts), shown on a jest of
 * its own over test/fixtures/leak/: one test times out while its child runs (the helpers end
 * the child), another leaves a process that escaped its group (the global teardown finds it,
 * ends it and fails the run).
 */
describe('processes the tests start', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqs-worker-leak-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  // A whole jest (its start, ts-jest, two files) in one test: its own guard, not 30 s.
  it('are ended after a timed-out test, and one that escaped fails the run', async () => {
    const jest = runProcess(
      process.execPath,
      [
        '--experimental-vm-modules',
        '--no-warnings=ExperimentalWarning',
        'node_modules/jest/bin/jest.js',
        '--ci',
        '--runInBand',
        '--testMatch',
        '<rootDir>/test/fixtures/leak/*.fixture.ts',
      ],
      { LEAK_FIXTURE_DIR: dir },
      { cwd: ROOT },
    );
    const { code } = await jest.exit();
    const output = jest.stderr();
    const timedOut = Number(readFileSync(join(dir, 'timed-out.pid'), 'utf8'));
    const escaped = Number(readFileSync(join(dir, 'escaped.pid'), 'utf8'));
    expect(code).toBe(1);
    expect(output).toMatch(/Exceeded timeout of 1000 ms/);
    expect(output).toContain('1 process(es) started by the tests outlived them (now killed)');
    expect(output).toContain(`pid ${escaped}: sleep 600`);
    expect(output).not.toContain(`pid ${timedOut}:`);
    expect([timedOut, escaped].filter(isAlive)).toEqual([]);
  }, 120_000);
});
