#!/usr/bin/env node
// Copies the files of src/ that are not TypeScript into dist/, where the built code reads them
// relative to its own URL: tsc copies none. Today: the status page's style and script
// (src/http/status/, read by src/http/status-assets.ts). `npm run build` runs it after tsc, and so
// does scripts/build-if-stale.mjs (npm start, npm run cli); the Dockerfile's build stage copies it.
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folders of src/ copied whole, as they are. */
export const ASSET_DIRS = ['http/status'];

/** Replaces each asset folder of dist/ with src/'s, so a file removed from src/ leaves dist/ too. */
export function copyAssets(root) {
  for (const dir of ASSET_DIRS) {
    const target = join(root, 'dist', dir);
    rmSync(target, { recursive: true, force: true });
    cpSync(join(root, 'src', dir), target, { recursive: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  copyAssets(join(dirname(fileURLToPath(import.meta.url)), '..'));
}
