// Adds a placeholder lockfile entry for every optional dependency that `npm install` left out.
//
// Why: npm >= 11.16 omits optional dependencies it cannot fetch (here: the other platforms'
// native bindings of unrs-resolver, which jest 30 uses; the registry mirror on our machines
// answers 404 for them) and then `npm ci` rejects its own lockfile as out of sync
// (npm/cli#9846). npm 11.13 wrote exactly these inert placeholders. Run after every
// `npm install` that changes package-lock.json: `npm run lockfile:fix`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
let added = 0;
for (const [path, meta] of Object.entries(lock.packages)) {
  for (const [name, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    const nested = `${path === '' ? '' : `${path}/`}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (lock.packages[nested] || lock.packages[hoisted]) continue;
    lock.packages[hoisted] = { version: spec, optional: true };
    added += 1;
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`fix-lockfile: added ${added} placeholder(s)\n`);
