import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type RunningProcess, EMBEDDED_ON_FREE_PORTS } from '../helpers/process.js';

/**
 * Configuration errors through the real binary (issue 12): each exits 2 with one
 * `config error:` line naming the variable and its rule, and nothing before it: no emulator,
 * table or HTTP server was started, so there are no start or stop lines to wrap it in.
 */
const EMBEDDED = EMBEDDED_ON_FREE_PORTS;

const dir = mkdtempSync(join(tmpdir(), 'sqs-worker-config-errors-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** Workers of these tests; one that did not exit (a regression: it started) is killed after. */
const running: RunningProcess[] = [];

afterEach(async () => {
  for (const worker of running.splice(0)) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGKILL');
      await worker.exit();
    }
  }
});

async function assertConfigError(
  env: Record<string, string>,
  variable: string,
  rule: RegExp,
  command = 'start',
): Promise<void> {
  const worker = runCli([command], { ...EMBEDDED, ...env });
  running.push(worker);
  expect(await worker.exit()).toEqual({ code: 2, signal: null });
  const lines = worker.stderr().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^config error: .*${variable}`));
  expect(lines[0]).toMatch(rule);
  // Nothing started, so nothing was logged: no "worker started", "stopping", "stopped".
  expect(worker.stdout()).toBe('');
}

async function listening(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('sqs-worker start with a configuration error exits 2 before starting anything', () => {
  it('HTTP_HOST that is not a host name', async () => {
    await assertConfigError(
      { HTTP_HOST: 'not a host!' },
      'HTTP_HOST',
      /a host name or an IPv4 or IPv6 address/,
    );
  });

  it('HTTP_HOST that does not resolve', async () => {
    await assertConfigError({ HTTP_HOST: 'no-such-host.invalid' }, 'HTTP_HOST', /does not resolve.*must be/);
  });

  it('HTTP_HOST that is not an address of this machine', async () => {
    // TEST-NET-1 (RFC 5737): never assigned to a host, so binding it fails; no packet is sent.
    await assertConfigError({ HTTP_HOST: '192.0.2.1' }, 'HTTP_HOST', /not an address of this machine/);
  });

  it('HTTP_PORT in use', async () => {
    const { server, port } = await listening('127.0.0.1');
    try {
      await assertConfigError(
        { HTTP_PORT: String(port) },
        `HTTP_PORT=${port}`,
        /in use.*must be a free port/,
      );
    } finally {
      await close(server);
    }
  });

  it('EMBEDDED_SQS_PORT in use', async () => {
    const { server, port } = await listening('127.0.0.1');
    try {
      await assertConfigError({ EMBEDDED_SQS_PORT: String(port) }, 'EMBEDDED_SQS_PORT', /in use/);
    } finally {
      await close(server);
    }
  });

  it.each(['EMBEDDED_SQS_PORT', 'EMBEDDED_DYNAMODB_PORT'])(
    'sqs-worker emulators with %s in use',
    async (variable) => {
      const { server, port } = await listening('127.0.0.1');
      try {
        await assertConfigError({ [variable]: String(port) }, variable, /in use/, 'emulators');
      } finally {
        await close(server);
      }
    },
  );

  it('MESSAGE_SCHEMA pointing at a file holding null', async () => {
    const path = file('null.json', 'null');
    await assertConfigError({ MESSAGE_SCHEMA: path }, 'MESSAGE_SCHEMA', /holds null: must be .*JSON Schema/);
  });

  it('MESSAGE_SCHEMA pointing at no file', async () => {
    await assertConfigError({ MESSAGE_SCHEMA: join(dir, 'missing.json') }, 'MESSAGE_SCHEMA', /cannot read/);
  });

  it('MESSAGE_SCHEMA that Ajv cannot compile', async () => {
    const path = file('bad-schema.json', '{"type": "no-such-type"}');
    await assertConfigError({ MESSAGE_SCHEMA: path }, 'MESSAGE_SCHEMA', /invalid schema/);
  });

  it('HANDLER naming a module that does not exist', async () => {
    await assertConfigError({ HANDLER: join(dir, 'missing.mjs') }, 'HANDLER', /cannot load module/);
  });

  it('HANDLER naming a module without a handle function', async () => {
    const path = file('no-handle.mjs', 'export const other = 1;\n');
    await assertConfigError({ HANDLER: path }, 'HANDLER', /must export a function named handle/);
  });

  it('a misspelt variable in the environment', async () => {
    await assertConfigError({ MAX_INFLIGHT: '5' }, 'MAX_INFLIGHT', /did you mean MAX_IN_FLIGHT\?$/);
  });

  it('a HANDLER_TIMEOUT that would round to no timeout', async () => {
    await assertConfigError({ HANDLER_TIMEOUT: '0.0004' }, 'HANDLER_TIMEOUT', /from 0\.01 to 43200/);
  });
});
