// Prints the README's configuration table from the schema (run after `npm run build`).
import { variables } from '../dist/config/variables.js';

console.log('| variable | default | meaning |');
console.log('| --- | --- | --- |');
for (const { name, default: value, description, rule } of variables) {
  const shown = value === undefined ? '(unset)' : `\`${value}\``;
  console.log(`| \`${name}\` | ${shown} | ${description} Rule: ${rule}. |`);
}
