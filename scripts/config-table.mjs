// Prints the README's configuration table from the schema (run after `npm run build`).
import { variables } from '../dist/config/schema.js';

for (const [name, spec] of Object.entries(variables)) {
  const shown = spec.default === undefined ? '(unset)' : `\`${spec.default}\``;
  console.log(`| \`${name}\` | ${shown} | ${spec.description} Rule: ${spec.rule}. |`);
}
