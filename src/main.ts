#!/usr/bin/env node
// The shebang stays the portable one: passing NODE_OPTIONS in it takes `env -S`, which coreutils
// before 8.30 lacks (Amazon Linux 2 has 8.22), and there the binary would not start at all. So an
// installed `sqs-worker` runs on Node's defaults; `npm start` and the Docker image bound V8's
// young generation (docs/performance.md, "Memory"), and users of the binary set NODE_OPTIONS.
//
// The sqs-worker binary. Its first statements take over SIGTERM and SIGINT: until a handler is
// installed a signal kills the process outright, and a supervisor may send one at any moment.
// So this file statically imports only cli/signals.js, which imports nothing (ESM evaluates
// imports before this body): the CLI, with the AWS SDK and Fastify, is loaded afterwards, and
// only on a Node it can run on.
import { signalMeanings } from './cli/signals.js';

/** Fired by the first SIGTERM or SIGINT; its `reason` is the signal's name. */
const stop = new AbortController();
const meaning = signalMeanings(() => performance.now());

function onSignal(signal: NodeJS.Signals): void {
  const seen = meaning(signal);
  if (seen === 'stop') {
    stop.abort(signal);
    return;
  }
  // One Ctrl-C delivered twice (the terminal's and npm's forwarded copy): nothing to say.
  if (seen === 'same') return;
  // Not a forced exit: the stop is bounded anyway (docs/operations.md, "Exit codes and signals"); SIGKILL
  // ends it at once.
  process.stderr.write(`${signal}: already stopping; the stop is bounded by SHUTDOWN_TIMEOUT\n`);
}
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

/** How long the process may linger once the command is done, before it exits anyway. */
const LINGER_MS = 1000;
const MIN_NODE_MAJOR = 24;

const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < MIN_NODE_MAJOR) {
  process.stderr.write(
    `sqs-worker needs Node ${MIN_NODE_MAJOR} or newer; this is Node ${process.version} (${process.execPath}). ` +
      `Run it with Node ${MIN_NODE_MAJOR}: from a checkout, npm start and npm run cli use the Node ` +
      `${MIN_NODE_MAJOR} that npm ci installs.\n`,
  );
  process.exitCode = 1;
} else {
  // V8's compile cache (keyed by file content, in the OS temp folder): loading the AWS SDK and
  // Fastify is most of a start, several times slower without it on a busy machine.
  const { enableCompileCache } = await import('node:module');
  enableCompileCache();
  const { runCommandLine } = await import('./cli/run.js');
  // One turn of the event loop: a signal that came while the CLI loaded is seen before it starts.
  await new Promise((resolve) => setImmediate(resolve));
  const { code, abandoned } = await runCommandLine(process.argv.slice(2), stop.signal);
  // A one-shot command cut short by a signal, or given up on a service that did not answer,
  // leaves its requests behind: exit at once.
  if (abandoned) process.exit(code);
  process.exitCode = code;
  // Once the event loop is empty Node tears down, and its first step puts SIGTERM and SIGINT
  // back to their default action: a signal landing then (npm's late copy of a Ctrl-C, a
  // supervisor's second SIGTERM) killed the process, turning a clean stop into death by signal.
  // Exiting from the 'exit' event skips that teardown; registered here, after every other
  // 'exit' listener, so none is skipped.
  process.on('exit', (exitCode) => process.exit(exitCode));
  // Everything the command opened is closed by now, so the event loop empties and the process
  // exits. If something still holds it (a bug), say what and exit anyway with the same code.
  setTimeout(() => {
    const holding = process.getActiveResourcesInfo().filter((name) => name !== 'Timeout');
    process.stderr.write(`exiting with ${code}; still open after the command ended: ${holding.join(', ')}\n`);
    process.exit(code);
  }, LINGER_MS).unref();
}
