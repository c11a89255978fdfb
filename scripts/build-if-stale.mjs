#!/usr/bin/env node
// Builds dist/ (tsc -p tsconfig.build.json, incremental) only when a source is newer than the
// last build, so `npm start` and `npm run cli` on an unchanged tree start at once instead of
// loading the compiler (a second or more even when tsc finds nothing to do).
// The last build's time is dist/.tsbuildinfo's: removing dist/ forces a build.
// A build says so on stderr (stdout stays clean for `npm run -s cli` and the worker's JSON lines):
// a first build takes about half a minute, and silence would look like a hang.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { copyAssets } from './copy-assets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.tsbuildinfo');

/** Newest modification time (ms) of the files under `dir`, or 0 when there are none. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

const sources = Math.max(
  newest(join(root, 'src')),
  mtime(join(root, 'tsconfig.json')),
  mtime(join(root, 'tsconfig.build.json')),
);
if (mtime(stamp) < sources) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const first = mtime(stamp) === 0;
  const started = performance.now();
  process.stderr.write(
    first
      ? 'building src/ into dist/ (the first build takes about 30 s)...\n'
      : 'src/ changed since the last build: rebuilding dist/...\n',
  );
  // tsc reports errors on stdout: they go to stderr with the rest of what the build says.
  const built = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    stdio: ['ignore', 2, 2],
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
  copyAssets(root);
  // tsc leaves the build info untouched when no output changed: mark this build as done.
  const now = new Date();
  if (mtime(stamp) > 0) utimesSync(stamp, now, now);
  process.stderr.write(`built dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
