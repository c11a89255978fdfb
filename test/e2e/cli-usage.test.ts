import { readFileSync } from 'node:fs';
import { COMMAND_SPECS } from '../../src/cli/spec.js';
import { closedPort } from '../helpers/cli.js';
import { runCli } from '../helpers/process.js';

/** The binary's help, version and usage errors: none of them needs AWS. */
async function run(args: string[], env: Record<string, string> = {}) {
  const cli = runCli(args, env);
  const { code } = await cli.exit();
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

describe('sqs-worker usage', () => {
  it('--help prints each command once, with no line repeated, and exits 0', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const spec of COMMAND_SPECS) expect(help.stdout).toContain(`  ${spec.name} `);
    const lines = help.stdout.split('\n').filter((l) => l.trim() !== '');
    expect(new Set(lines).size).toBe(lines.length);
    expect(help.stdout.match(/Configuration comes from environment variables/g)).toHaveLength(1);
  });

  it('--version prints the package version and exits 0', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const version = await run(['--version']);
    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('-v prints the version too, as most CLIs have it', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const version = await run(['-v']);
    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('no command at all prints the usage on stderr and exits 2 (a usage error)', async () => {
    const bare = await run([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('usage: sqs-worker <command> [options]');
  });

  it.each(COMMAND_SPECS.map((s) => [s.name]))(
    '%s --help shows its flags and an example, exit 0',
    async (name) => {
      const spec = COMMAND_SPECS.find((s) => s.name === name)!;
      const help = await run([...name.split(' '), '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`usage: sqs-worker ${name}`);
      expect(help.stdout).toContain(`example:\n  sqs-worker ${spec.example}`);
      for (const flag of Object.keys(spec.flags)) expect(help.stdout).toContain(`--${flag}`);
    },
  );

  it('records --help lists the records commands, exit 0', async () => {
    const help = await run(['records', '--help']);
    expect(help.code).toBe(0);
    for (const action of ['show', 'get', 'forget', 'clear'])
      expect(help.stdout).toContain(`sqs-worker records ${action}`);
  });

  it.each([
    [['produce', '--cuont', '5'], 'usage error: unknown flag --cuont for produce; did you mean --count?'],
    [['produce', '--count', '0'], 'usage error: --count 0 must be an integer of 1 or more'],
    [['produce', '--count', 'ten'], 'usage error: --count "ten" must be an integer of 1 or more'],
    [['consume', '--wait', '30'], 'usage error: --wait 30 must be an integer from 0 to 20'],
    [
      ['records', 'shwo'],
      'usage error: unknown action shwo for records: show, get, forget, clear; did you mean records show?',
    ],
    [['records', 'get'], 'usage error: records get needs KEY'],
    [['prodcue'], 'usage error: unknown command prodcue; did you mean produce?'],
    [['queue', 'purge'], 'usage error: queue purge deletes every message: pass --yes'],
    [['--verison'], 'usage error: unknown flag --verison; did you mean --version?'],
    [['--hlep'], 'usage error: unknown flag --hlep; did you mean --help?'],
    [
      ['queue', 'create', '--name', 'bad name!'],
      'usage error: --name "bad name!" is not an SQS queue name: 1 to 76 characters of a-z, A-Z, 0-9, _ and -',
    ],
    [['queue', 'create', '--name', `${'q'.repeat(72)}.fifo`], 'is not an SQS queue name'],
  ])('%j is a usage error: exit 2, one line naming it', async (args, message) => {
    const result = await run(args, { EMBEDDED_SQS_PORT: String(await closedPort()) });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain('config error');
  });

  it('records show with nothing running names DynamoDB and how to start the emulators', async () => {
    const result = await run(['records', 'show'], {
      EMBEDDED_SQS_PORT: String(await closedPort()),
      EMBEDDED_DYNAMODB_PORT: String(await closedPort()),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DynamoDB at 127\.0\.0\.1:\d+ refused the connection/);
    expect(result.stderr).toContain('sqs-worker emulators');
    expect(result.stderr).not.toMatch(/\bSQS\b/);
  });

  it('queue stats with nothing running names SQS', async () => {
    const result = await run(['queue', 'stats'], { EMBEDDED_SQS_PORT: String(await closedPort()) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/SQS at 127\.0\.0\.1:\d+ refused the connection/);
    expect(result.stderr).toContain('sqs-worker emulators');
  });
});
