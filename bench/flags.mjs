// The V8 flags each system runs with, the same for every system in each pass (issue 22, finding 3):
//
//   defaults  Node's defaults for every system. Ours is started by package.json's start script,
//             which puts its own flags first in NODE_OPTIONS; each of them is followed by the same
//             flag at V8's default value (read from `node --v8-options`), which wins.
//   shared    the start script's flags (--max-semi-space-size=16 today) for every system.
//
// What the worker's configuration knows (STORE_BATCHING) is read from its build, so the harness
// passes a variable only to a worker that accepts it: the config refuses a variable that looks
// like a misspelling of one of its own, and ignores the others silently.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const FLAG_SETS = ['defaults', 'shared'];

/** The flags package.json's start script puts in NODE_OPTIONS, e.g. ['--max-semi-space-size=16']. */
export function startScriptFlags(root) {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const match = /NODE_OPTIONS="([^"$]*)/.exec(scripts.start ?? '');
  return match ? match[1].trim().split(/\s+/).filter(Boolean) : [];
}

/** V8's default for each flag of `flags` (`--max-semi-space-size=0`), from `node --v8-options`. */
export function v8Defaults(flags, nodeBinary = process.execPath) {
  const help = execFileSync(nodeBinary, ['--v8-options'], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return flags.map((flag) => {
    const name = flag.replace(/=.*$/, '');
    const spelled = [name, name.replace(/-/g, '_')];
    for (const n of spelled) {
      const found = new RegExp(`default: (${n}=\\S+)`).exec(help);
      if (found) return found[1].replace(/_/g, '-');
    }
    throw new Error(
      `bench: no V8 default found for ${flag} (node --v8-options): cannot run ours on defaults`,
    );
  });
}

/**
 * NODE_OPTIONS for one system in one pass. `ours` is started through the start script, whose flags
 * come first; the others are started directly.
 */
export function nodeOptionsFor({ ours, flagSet, scriptFlags, scriptDefaults }) {
  if (flagSet === 'shared') return ours ? [] : scriptFlags;
  if (flagSet === 'defaults') return ours ? scriptDefaults : [];
  throw new Error(`bench: unknown flag set ${flagSet}`);
}

/** The names of the worker's configuration variables, from its build (dist/config/variables.js). */
export async function workerVariables(root) {
  try {
    const url = pathToFileURL(join(root, 'dist', 'config', 'variables.js')).href;
    const { variables } = await import(url);
    return new Set(variables.map((v) => v.name));
  } catch {
    // An older build without that module: look for the name in the schema's text.
    const text = readFileSync(join(root, 'dist', 'config', 'schema.js'), 'utf8');
    return new Set([...text.matchAll(/env\('([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]));
  }
}
