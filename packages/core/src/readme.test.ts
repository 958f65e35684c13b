import { readFileSync } from 'node:fs';
import { format } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as core from './index.js';

// The README's first example must run as written and print what its comments say.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';

describe('README example', () => {
  it('runs and prints the commented output', async () => {
    const imports = /import\s*\{([^}]*)\}\s*from\s*'@leadrelay\/core';/.exec(example);
    expect(imports).not.toBeNull();
    const names = imports![1]!
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    for (const name of names) expect(core).toHaveProperty(name);
    const body = example.replace(imports![0], `const { ${names.join(', ')} } = core;`);
    const expected = [...body.matchAll(/^\/\/ (.*)$/gm)].map((m) => m[1]);
    expect(expected.length).toBeGreaterThan(0);

    const printed: string[] = [];
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
      ...args: string[]
    ) => (...values: unknown[]) => Promise<void>;
    const run = new AsyncFunction('core', 'console', body);
    await run(core, { log: (...args: unknown[]) => printed.push(format(...args)) });
    expect(printed).toEqual(expected);
  });
});
