import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { MAIN, runCli, runProcess, type RunningProcess } from '../helpers/process.js';

/**
 * Issue 21, items 2 and 3, through the built entries: a worker on a real queue without HANDLER
 * exits 2 with guidance before it opens anything; the `sqs-worker` binary and the library's
 * createWorker refuse a Node older than 24 with that reason (createWorker used to report
 * "fauxqs is not installed" on Node 20).
 */
const REAL_QUEUE = {
  SQS_QUEUE_URL: 'http://127.0.0.1:9/000000000000/orders',
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: '0',
};

const running: RunningProcess[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill('SIGKILL');
      await child.exit();
    }
  }
});
const track = (child: RunningProcess): RunningProcess => (running.push(child), child);

describe.each(['start', 'consume'])('sqs-worker %s on a real queue without HANDLER', (command) => {
  it('exits 2 with one line naming HANDLER, its choices and the docs, and starts nothing', async () => {
    const worker = track(runCli([command], REAL_QUEUE));
    expect(await worker.exit()).toEqual({ code: 2, signal: null });
    const lines = worker.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^config error: HANDLER is not set/);
    expect(lines[0]).toMatch(/module exporting handle\(message, context\)/);
    expect(lines[0]).toMatch(/log, webhook/);
    expect(lines[0]).toMatch(/docs\/deploy\.md/);
    expect(worker.stdout()).toBe('');
  });
});

/**
 * A Node older than 24: the system `node` outside npm (v20 on the development machines; npm
 * scripts put node_modules/.bin, the project's Node 24, first on PATH). Where the system Node is
 * new enough, Node 24 with process.version rewritten by a preload stands in for it.
 */
function oldNode(): { command: string; args: string[]; version: string } {
  const dirs = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d !== '' && !d.includes('node_modules'));
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin']) {
    const candidate = join(dir, 'node');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (Number(/^v(\d+)/.exec(version)?.[1] ?? 99) < 24) return { command: candidate, args: [], version };
  }
  const preload = join(mkdtempSync(join(tmpdir(), 'old-node-')), 'pretend-node-20.mjs');
  writeFileSync(
    preload,
    "Object.defineProperty(process, 'version', { value: 'v20.20.2' });\n" +
      "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.20.2' } });\n",
  );
  return { command: process.execPath, args: ['--import', preload], version: 'v20.20.2' };
}

describe('on Node 20', () => {
  const node = oldNode();

  it('the sqs-worker binary says it needs Node 24, names the version it got, and exits 1', async () => {
    const worker = track(runProcess(node.command, [...node.args, MAIN, 'start'], {}));
    expect(await worker.exit()).toEqual({ code: 1, signal: null });
    expect(worker.stderr()).toContain(`needs Node 24 or newer; this is Node ${node.version}`);
    expect(worker.stdout()).toBe('');
  });

  it('createWorker throws "needs Node >= 24" before it reads any config or starts anything', async () => {
    const script = [
      `const { createWorker } = await import(${JSON.stringify(resolve('dist/index.js'))});`,
      'try {',
      // A setting that would fail validation: the version is checked before the config is read.
      "  createWorker({ handler: () => {}, env: { HTTP_PORT: 'not-a-port' } });",
      "  console.log('created');",
      '} catch (error) {',
      '  console.log(JSON.stringify({ code: error.code, message: error.message }));',
      '}',
    ].join('\n');
    const child = track(runProcess(node.command, [...node.args, '--input-type=module', '-e', script], {}));
    expect(await child.exit()).toEqual({ code: 0, signal: null });
    const [line] = child.lines;
    expect(line).toEqual({
      code: 'ERR_NODE_VERSION',
      message: expect.stringMatching(
        new RegExp(`^sqs-idempotent-worker needs Node >= 24, this is ${node.version.replace(/\./g, '\\.')} `),
      ) as unknown,
    });
  });
});
