import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fixture, useTestAws } from '../helpers/aws.js';
import {
  childPids,
  isAlive,
  refusesConnections,
  runCli,
  runProcess,
  type RunningProcess,
  EMBEDDED_ON_FREE_PORTS,
} from '../helpers/process.js';

const ROOT = resolve('.');
const EMBEDDED = EMBEDDED_ON_FREE_PORTS;
const msg = (text: string) => (l: Record<string, unknown>) => l.msg === text;

/** `npm <args>` in the checkout, as a user runs it. */
const npm = (args: string[], env: Record<string, string>) => runProcess('npm', args, env, { cwd: ROOT });

/** The command line of a process, from /proc. */
const commandLine = (pid: number) =>
  readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();

/** NODE_OPTIONS in the environment of a process, from /proc. */
const nodeOptions = (pid: number) =>
  readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .find((entry) => entry.startsWith('NODE_OPTIONS='))
    ?.slice('NODE_OPTIONS='.length);

describe('the npm scripts under a supervisor', () => {
  const running: RunningProcess[] = [];
  const track = (p: RunningProcess) => (running.push(p), p);

  beforeAll(() => {
    // What prestart does; done here once so the tests below run on an up-to-date dist/.
    const built = spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`scripts/build-if-stale.mjs exited ${built.status}`);
  }, 180_000);

  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exit();
      }
    }
  });

  it('kill -TERM of `npm start` reaches the worker: npm exits 0 and nothing is left running', async () => {
    const started = track(npm(['start'], EMBEDDED));
    const up = await started.waitForLine(msg('worker started'));
    // With `exec`, npm's child is the worker itself, not a shell in between.
    const children = childPids(started.child.pid ?? 0);
    expect(children.map(commandLine)).toEqual([expect.stringMatching(/node .*dist\/main\.js start$/)]);
    // The start script's default V8 flags (docs/performance.md, "Memory").
    expect(children.map(nodeOptions)).toEqual(['--max-semi-space-size=16 ']);
    started.child.kill('SIGTERM');
    expect(await started.exit()).toEqual({ code: 0, signal: null });
    expect(children.filter(isAlive)).toEqual([]);
    expect(await refusesConnections(up.http as string)).toBe(true);
    expect(started.lines.some(msg('stopped'))).toBe(true);
  });

  it('Ctrl-C on `npm start` (SIGINT to the group) exits 0', async () => {
    const own = { ...EMBEDDED, NODE_OPTIONS: '--max-semi-space-size=32' };
    const started = track(runProcess('npm', ['start'], own, { cwd: ROOT, detached: true }));
    await started.waitForLine(msg('worker started'));
    const children = childPids(started.child.pid ?? 0);
    // A user's NODE_OPTIONS comes after the default: its flag is the one Node keeps.
    expect(children.map(nodeOptions)).toEqual(['--max-semi-space-size=16 --max-semi-space-size=32']);
    process.kill(-(started.child.pid ?? 0), 'SIGINT');
    expect(await started.exit()).toEqual({ code: 0, signal: null });
    expect(children.filter(isAlive)).toEqual([]);
  });

  describe('npm run cli', () => {
    const aws = useTestAws();

    it('`npm run -s cli -- produce --count 2` writes only JSON lines on stdout', async () => {
      const f = await fixture(aws);
      // -s: npm's banner ("> sqs-idempotent-worker@... cli") stays off stdout; its errors do not.
      const cli = track(
        npm(['run', '-s', 'cli', '--', 'produce', '--count', '2'], {
          SQS_QUEUE_URL: f.queueUrl,
          AWS_ENDPOINT_URL_SQS: aws.settings.sqsEndpoint as string,
          AWS_ENDPOINT_URL_DYNAMODB: aws.settings.dynamodbEndpoint as string,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
        }),
      );
      expect(await cli.exit()).toEqual({ code: 0, signal: null });
      const lines = cli.stdout().split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    });
  });

  it('CONFIG_PROFILE finds the config/ the package ships when run from another directory', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'sqs-worker-cwd-'));
    try {
      const worker = track(runCli(['start'], { ...EMBEDDED, CONFIG_PROFILE: 'example' }, { cwd: elsewhere }));
      // It was looked up under the working directory only: exit 2, "cannot read <cwd>/config/...".
      await worker.waitForLine(msg('worker started'));
      worker.child.kill('SIGTERM');
      expect(await worker.exit()).toEqual({ code: 0, signal: null });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
