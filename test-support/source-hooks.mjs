// Lets a plain `node` child process run the TypeScript sources (Node strips the
// types): maps the workspace package names to their sources and `./x.js`
// imports to `./x.ts`, the way vitest's aliases do for the tests.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const aliases = {};
for (const pkg of ['core', 'meta-leads', 'waba', 'followups', 'app']) {
  aliases[`@leadrelay/${pkg}`] = `packages/${pkg}/src/index.ts`;
  aliases[`@leadrelay/${pkg}/testing`] = `packages/${pkg}/src/testing/index.ts`;
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    const alias = aliases[specifier];
    if (alias) return { url: new URL(alias, root).href, shortCircuit: true };
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});
