import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, entry = 'index') =>
  fileURLToPath(
    new URL(`./packages/${pkg}/src/${entry === 'index' ? 'index' : `${entry}/index`}.ts`, import.meta.url),
  );

// Tests run against the sources, so no build is needed before `pnpm test`.
const alias = [
  { find: /^@leadrelay\/core\/testing$/, replacement: src('core', 'testing') },
  { find: /^@leadrelay\/core$/, replacement: src('core') },
  { find: /^@leadrelay\/meta-leads\/testing$/, replacement: src('meta-leads', 'testing') },
  { find: /^@leadrelay\/meta-leads$/, replacement: src('meta-leads') },
  { find: /^@leadrelay\/waba\/testing$/, replacement: src('waba', 'testing') },
  { find: /^@leadrelay\/waba$/, replacement: src('waba') },
  { find: /^@leadrelay\/followups\/testing$/, replacement: src('followups', 'testing') },
  { find: /^@leadrelay\/followups$/, replacement: src('followups') },
  { find: /^@leadrelay\/app$/, replacement: src('app') },
];

const packages = ['core', 'meta-leads', 'waba', 'followups', 'app'];

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      ...packages.map((name) => ({
        extends: true,
        test: {
          name,
          root: `./packages/${name}`,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        },
      })),
      {
        extends: true,
        test: { name: 'express-server', root: './examples/express-server', include: ['test/**/*.test.ts'] },
      },
    ],
  },
});
