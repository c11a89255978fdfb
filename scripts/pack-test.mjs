#!/usr/bin/env node
// The package as a user gets it: packed from a fresh clone of the last commit (prepack builds
// dist/), installed into an empty folder with --omit=dev, and its `sqs-worker` binary run against
// SQS and DynamoDB in processes of their own: fauxqs (scripts/fauxqs-server.mjs) and AWS's
// DynamoDB Local (scripts/dynamodb-local.sh, needs Java). Produces messages, sees them handled,
// stops the worker with SIGTERM and expects exit 0. About a minute; run by .ci/run.
//
//   npm run test:pack        (runs on the project's Node 24: the installed binary needs it)
//
// Exits 0 when every check passed, 1 when one failed; skipped (exit 0, saying so) without Java.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Guard against a hang, not a measure of speed. */
const GUARD_MS = 120_000;
const MESSAGES = 5;

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
  for (const file of ['package/dist/main.js', 'package/dist/index.js', 'package/config/example.json']) {
    if (!listing.split('\n').includes(file)) fail(`${tarball} lacks ${file}`);
  }

  log(`installing ${tarball} with --omit=dev`);
  const app = join(work, 'app');
  execFileSync(
    'npm',
    [
      'install',
      '--omit=dev',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--prefix',
      app,
      join(work, tarball),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const bin = join(app, 'node_modules', '.bin', 'sqs-worker');

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

  log('running the installed sqs-worker start, producing messages');
  const worker = start(bin, ['start'], { cwd: work, env: { ...env, SQS_QUEUE_URL: queueUrl } });
  cleanups.push(async () => {
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await worker.exited;
  });
  await worker.waitFor('"worker started"', (l) => l.msg === 'worker started');
  // The installed package finds the config/ it ships from any working directory.
  cli(['produce', '--count', String(MESSAGES)], { SQS_QUEUE_URL: queueUrl, CONFIG_PROFILE: 'example' });
  await worker.waitFor(`${MESSAGES} handled messages`, (l) => l.msg === 'message success', MESSAGES);
  worker.child.kill('SIGTERM');
  const exit = await worker.exited;
  if (exit.code !== 0)
    fail(`the worker exited ${JSON.stringify(exit)} on SIGTERM; stderr: ${worker.stderr()}`);
  log(`passed: ${MESSAGES} messages handled by the installed package, clean exit on SIGTERM`);
} catch (error) {
  if (process.exitCode !== 1) log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup: ${error}`));
  rmSync(work, { recursive: true, force: true });
}
