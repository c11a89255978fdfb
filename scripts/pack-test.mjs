#!/usr/bin/env node
// The package as a user gets it: packed from a fresh clone of the last commit (prepack builds
// dist/) and installed into an empty folder with --omit=dev. The example handler package
// (examples/handler-package) is built as its Dockerfile builds it: its TypeScript compiled by tsc
// against the packed worker's types, found in node_modules (and a wrong use of them must fail to
// compile; a test file using the testing entry, sqs-idempotent-worker/testing, must compile); then
// it is packed and installed next to the worker. The installed testing entry is loaded once. The
// installed `sqs-worker` binary runs against SQS and DynamoDB in processes of their own: fauxqs
// (scripts/fauxqs-server.mjs) and AWS's DynamoDB Local (scripts/dynamodb-local.sh, needs Java):
// without HANDLER it refuses the queue (exit 2); with HANDLER set to the installed handler it
// handles the messages produced (seen in the handler's own log lines), dead-letters the one its
// PermanentError rejects, and exits 0 on SIGTERM. About a minute and a half; run by .ci/run.
//
//   npm run test:pack        (runs on the project's Node 24: the installed binary needs it)
//
// Exits 0 when every check passed, 1 when one failed; skipped (exit 0, saying so) without Java.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Guard against a hang, not a measure of speed. */
const GUARD_MS = 120_000;
const MESSAGES = 5;
const HANDLER_PACKAGE = 'example-order-handler';
const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline'];

const log = (text) => process.stderr.write(`pack-test: ${text}\n`);
function fail(text) {
  log(`FAILED: ${text}`);
  process.exitCode = 1;
  throw new Error(text);
}

if (spawnSync('java', ['-version'], { stdio: 'ignore' }).error) {
  log('java not found: skipping the packed-install test (it runs against DynamoDB Local, a Java program)');
  process.exit(0);
}
if (Number(process.versions.node.split('.')[0]) < 24) {
  log(`needs Node 24 (this is ${process.version}): run it as npm run test:pack`);
  process.exit(1);
}

/** A child whose stdout lines are parsed as JSON as they come. */
function start(command, args, options) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const lines = [];
  let rest = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts.filter(Boolean)) {
      try {
        lines.push(JSON.parse(part));
      } catch {
        lines.push({ raw: part });
      }
    }
    child.emit('lines');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
  /** Resolves once `count` lines match, rejects if the process exits first or at the guard. */
  function waitFor(what, predicate, count = 1) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`no ${what} within ${GUARD_MS} ms; stderr: ${stderr}`)),
        GUARD_MS,
      );
      const check = () => {
        const found = lines.filter(predicate);
        if (found.length >= count) done(undefined, found);
      };
      const onExit = () => done(new Error(`exited before ${what}; stderr: ${stderr}`));
      const done = (error, found) => {
        clearTimeout(timer);
        child.off('lines', check);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve(found);
      };
      child.on('lines', check);
      child.once('exit', onExit);
      check();
    });
  }
  return { child, lines, exited, waitFor, stderr: () => stderr };
}

function npm(args, cwd) {
  execFileSync('npm', args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Runs the handler package's TypeScript compiler in `dir`; returns its exit status and output. */
function tsc(dir, project) {
  const compiler = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [compiler, '-p', project], { cwd: dir, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/**
 * examples/handler-package built as its Dockerfile builds it: its own dev dependencies from its
 * lockfile (peers left out), the worker as installed in `workerDir` linked into node_modules, tsc.
 * A handler that misuses the worker's types must fail to compile: proof that they resolved (a
 * missing declaration would make them `any` or fail with TS2307 instead). Returns its tarball.
 */
function buildHandlerPackage(workerDir) {
  log('building examples/handler-package: tsc against the packed worker in node_modules');
  const dir = join(work, 'handler-package');
  cpSync(join(ROOT, 'examples', 'handler-package'), dir, {
    recursive: true,
    filter: (source) => !/[\\/](node_modules|dist)$/.test(source),
  });
  npm(['ci', '--legacy-peer-deps', ...NPM_QUIET], dir);
  symlinkSync(workerDir, join(dir, 'node_modules', 'sqs-idempotent-worker'));
  const built = tsc(dir, 'tsconfig.json');
  if (built.status !== 0)
    fail(`the handler package does not compile against the packed worker:\n${built.output}`);

  writeFileSync(
    join(dir, 'misuse.ts'),
    "import type { Handler } from 'sqs-idempotent-worker';\n" +
      'export const handle: Handler = (message, context) => message.noSuchField ?? context.fencingToken;\n',
  );
  writeFileSync(
    join(dir, 'tsconfig.misuse.json'),
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '.' },
      include: ['misuse.ts'],
    }),
  );
  const misuse = tsc(dir, 'tsconfig.misuse.json');
  if (
    misuse.status === 0 ||
    !/TS2339.*noSuchField/.test(misuse.output) ||
    /TS2307|TS7016/.test(misuse.output)
  ) {
    fail(
      `a handler misusing the worker's types: tsc exit ${misuse.status}, expected only TS2339:\n${misuse.output}`,
    );
  }
  checkTestingTypes(dir);
  npm(['pack', '--pack-destination', work], dir);
  const tarball = readdirSync(work).find(
    (name) => name.startsWith(`${HANDLER_PACKAGE}-`) && name.endsWith('.tgz'),
  );
  if (!tarball) fail('npm pack made no tarball of the handler package');
  return join(work, tarball);
}

/**
 * A handler's own test, as its author writes one: the testing entry's in-memory store, typed as
 * the main entry's IdempotencyStore, must compile (the `./testing` export's types resolve).
 */
function checkTestingTypes(dir) {
  writeFileSync(
    join(dir, 'testing.ts'),
    "import type { IdempotencyStore } from 'sqs-idempotent-worker';\n" +
      "import { MemoryIdempotencyStore } from 'sqs-idempotent-worker/testing';\n" +
      'export const store: IdempotencyStore = new MemoryIdempotencyStore();\n',
  );
  writeFileSync(
    join(dir, 'tsconfig.testing.json'),
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '.' },
      include: ['testing.ts'],
    }),
  );
  const built = tsc(dir, 'tsconfig.testing.json');
  if (built.status !== 0)
    fail(`a test using sqs-idempotent-worker/testing does not compile:\n${built.output}`);
}

/** The installed testing entry loads and its store claims a key; the main entry has no twins. */
function checkTestingEntry(app) {
  const script =
    "const testing = await import('sqs-idempotent-worker/testing');\n" +
    "const main = await import('sqs-idempotent-worker');\n" +
    'const store = new testing.MemoryIdempotencyStore();\n' +
    'const now = Date.now();\n' +
    "const claim = { pk: 'k', owner: 'o', payloadHash: 'h', now, leaseExpiresAtMs: now + 1000 };\n" +
    'const { kind } = await store.claim({ ...claim, expiresAt: Math.floor(now / 1000) + 60 });\n' +
    "console.log(JSON.stringify({ kind, inMain: 'MemoryIdempotencyStore' in main }));\n";
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: app,
    encoding: 'utf8',
  });
  const answer = run.stdout.trim();
  if (answer !== JSON.stringify({ kind: 'acquired', inMain: false })) {
    fail(`the installed testing entry: exit ${run.status}, ${answer}, stderr ${run.stderr}`);
  }
}

const work = mkdtempSync(join(tmpdir(), 'sqs-worker-pack-'));
const cleanups = [];
try {
  log('packing a fresh clone of HEAD (prepack builds dist/)');
  const clone = join(work, 'clone');
  execFileSync('git', ['clone', '--quiet', ROOT, clone]);
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  execFileSync('npm', ['pack', '--pack-destination', work], {
    cwd: clone,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  if (!tarball) fail('npm pack made no tarball');
  const listing = execFileSync('tar', ['-tzf', join(work, tarball)], { encoding: 'utf8' });
  const shipped = [
    'package/dist/main.js',
    'package/dist/index.js',
    'package/dist/index.d.ts',
    'package/dist/testing/index.js',
    'package/dist/testing/index.d.ts',
    'package/config/example.json',
  ];
  for (const file of shipped) {
    if (!listing.split('\n').includes(file)) fail(`${tarball} lacks ${file}`);
  }

  log(`installing ${tarball} with --omit=dev`);
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  npm(['install', '--omit=dev', ...NPM_QUIET, join(work, tarball)], app);
  const bin = join(app, 'node_modules', '.bin', 'sqs-worker');
  checkTestingEntry(app);

  const handlerTarball = buildHandlerPackage(join(app, 'node_modules', 'sqs-idempotent-worker'));
  log(`installing ${handlerTarball} next to the worker`);
  npm(['install', '--omit=dev', ...NPM_QUIET, handlerTarball], app);
  const handlerModule = join(app, 'node_modules', HANDLER_PACKAGE, 'dist', 'handler.js');
  const worker2 = join(app, 'node_modules', HANDLER_PACKAGE, 'node_modules', 'sqs-idempotent-worker');
  if (spawnSync('test', ['-e', worker2]).status === 0) fail(`npm installed a second worker under ${worker2}`);

  log('starting fauxqs and DynamoDB Local as processes of their own');
  const fauxqs = start(process.execPath, [join(ROOT, 'scripts', 'fauxqs-server.mjs')]);
  cleanups.push(async () => {
    fauxqs.child.kill('SIGTERM');
    await fauxqs.exited;
  });
  const [{ sqsEndpoint }] = await fauxqs.waitFor(
    'the fauxqs endpoint',
    (l) => typeof l.sqsEndpoint === 'string',
  );
  const dynamodbLocal = join(ROOT, 'scripts', 'dynamodb-local.sh');
  const wasRunning = spawnSync(dynamodbLocal, ['status'], { stdio: 'ignore' }).status === 0;
  execFileSync(dynamodbLocal, ['start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!wasRunning) cleanups.push(async () => execFileSync(dynamodbLocal, ['stop'], { stdio: 'inherit' }));

  const name = `pack-${process.pid}`;
  const env = {
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${process.env.DYNAMODB_LOCAL_PORT ?? 8010}`,
    IDEMPOTENCY_TABLE: name,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    SQS_WAIT_TIME_SECONDS: '1',
    // Per-message outcome lines ('message success') are at debug.
    LOG_LEVEL: 'debug',
  };
  const cli = (args, extra = {}) => {
    const out = execFileSync(bin, args, { cwd: work, env: { ...env, ...extra }, encoding: 'utf8' });
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  };
  const [{ queueUrl }] = cli(['queue', 'create', '--name', name]);
  cli(['table', 'create']);

  const unnamed = spawnSync(bin, ['start'], {
    cwd: work,
    env: { ...env, SQS_QUEUE_URL: queueUrl },
    encoding: 'utf8',
  });
  if (unnamed.status !== 2 || !unnamed.stderr.includes('HANDLER is not set')) {
    fail(`start on a real queue without HANDLER: exit ${unnamed.status}, stderr ${unnamed.stderr}`);
  }

  log('running the installed sqs-worker start with HANDLER set to the installed handler package');
  const worker = start(bin, ['start'], {
    cwd: work,
    env: { ...env, SQS_QUEUE_URL: queueUrl, HANDLER: handlerModule },
  });
  cleanups.push(async () => {
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await worker.exited;
  });
  await worker.waitFor('"worker started"', (l) => l.msg === 'worker started');
  // The installed package finds the config/ it ships from any working directory.
  const orders = join(work, 'orders.jsonl');
  const lines = Array.from({ length: MESSAGES }, (_, i) => ({
    body: { orderId: i + 1 },
    key: `order-${i + 1}`,
  }));
  lines.push({ body: { order: 'no id' }, key: 'order-bad' });
  writeFileSync(orders, lines.map((line) => JSON.stringify(line)).join('\n'));
  cli(['produce', '--file', orders], { SQS_QUEUE_URL: queueUrl, CONFIG_PROFILE: 'example' });
  const accepted = await worker.waitFor(
    `${MESSAGES} orders accepted by the handler package`,
    (l) => l.msg === 'example-order-handler: order accepted',
    MESSAGES,
  );
  const ids = accepted.map((l) => l.orderId).sort((a, b) => a - b);
  if (ids.join() !== '1,2,3,4,5') fail(`the handler accepted orders ${ids.join()}`);
  // Its PermanentError is the worker's own class (one copy of the package): dead-lettered at once.
  await worker.waitFor(
    'the bad order dead-lettered as PERMANENT_ERROR',
    (l) => l.msg === 'message dead_lettered' && l.reason === 'PERMANENT_ERROR' && l.key === 'order-bad',
  );
  worker.child.kill('SIGTERM');
  const exit = await worker.exited;
  if (exit.code !== 0)
    fail(`the worker exited ${JSON.stringify(exit)} on SIGTERM; stderr: ${worker.stderr()}`);
  log(
    `passed: the handler package and a test of it (testing entry) compiled against the packed types, ` +
      'the installed testing entry loaded, ' +
      `${MESSAGES} orders handled by the handler ` +
      'and one dead-lettered by its PermanentError in the installed worker, clean exit on SIGTERM',
  );
} catch (error) {
  if (process.exitCode !== 1) log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup: ${error}`));
  rmSync(work, { recursive: true, force: true });
}
