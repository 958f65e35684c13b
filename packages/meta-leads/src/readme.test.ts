import { readFileSync } from 'node:fs';
import * as core from '@leadrelay/core';
import { describe, expect, it } from 'vitest';
import * as metaLeads from './index.js';
import * as testing from './testing/index.js';

// Every name the README's examples import from our packages must exist, so the examples cannot drift.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const modules: Record<string, object> = {
  '@leadrelay/core': core,
  '@leadrelay/meta-leads': metaLeads,
  '@leadrelay/meta-leads/testing': testing,
};

describe('README examples', () => {
  it('import only names the packages export', () => {
    const imports = [...readme.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(@leadrelay\/[^']+)';/g)];
    expect(imports.length).toBeGreaterThanOrEqual(4);
    for (const [, names, from] of imports) {
      const module = modules[from!];
      expect(module, from).toBeDefined();
      for (const name of names!
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)) {
        expect(module, `${name} from ${from}`).toHaveProperty(name);
      }
    }
  });

  it('documents every status code the handler answers', () => {
    for (const status of ['200', '400', '401', '403', '404', '405', '413', '503']) {
      expect(readme).toMatch(new RegExp(`\\| ${status}`));
    }
  });
});
