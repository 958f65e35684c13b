#!/usr/bin/env node
// Loads every built package the way a user would, from a scratch project
// outside the workspace: each entry point in the package's `exports` map is
// imported from an ES module and required from a CommonJS module under the
// current Node, and both must resolve to the right dist file and expose the
// same exports. Run after `pnpm build`; exits non-zero on the first problem.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A problem found in a package (as opposed to a bug in this script). */
class CheckFailure extends Error {}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// A directory of packages may be given (to check the checker); the workspace's packages/ by default.
const packagesDir = process.argv[2] ? resolve(process.argv[2]) : join(root, 'packages');

// require() of ES modules (our CJS builds load ESM-only dependencies) works unflagged from 22.12.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `check-consumers: Node ${process.versions.node} is too old: run it under Node >= 22.12 (\`npx -y pnpm@10 check:consumers\`).`,
  );
  process.exit(1);
}

const packages = readdirSync(packagesDir)
  .map((name) => join(packagesDir, name))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  // Node reports modules by their real path, so compare against that.
  .map((dir) => realpathSync(dir));

const scratch = mkdtempSync(join(tmpdir(), 'leadrelay-consumers-'));
let checked = 0;
try {
  checkAll();
} catch (error) {
  console.error(
    `check-consumers: ${error instanceof CheckFailure ? error.message : (error?.stack ?? error)}`,
  );
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (process.exitCode !== 1) {
  console.log(`All ${checked} entry points load from ESM and CommonJS under Node ${process.versions.node}.`);
}

function checkAll() {
  for (const dir of packages) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!existsSync(join(dir, 'dist'))) {
      console.log(`skip ${manifest.name}: no dist (not built)`);
      continue;
    }
    // The package is linked, not copied: Node follows the link to its real
    // path, so the package's own node_modules supply its dependencies.
    const link = join(scratch, 'node_modules', ...manifest.name.split('/'));
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(dir, link, 'dir');

    for (const [subpath, target] of Object.entries(manifest.exports ?? { '.': manifest.main })) {
      if (subpath.includes('*') || subpath.endsWith('.json')) continue;
      const specifier = subpath === '.' ? manifest.name : `${manifest.name}${subpath.slice(1)}`;
      const expected = {
        import: conditionTarget(target, 'import'),
        require: conditionTarget(target, 'require'),
      };
      const esm = load(scratch, specifier, 'esm');
      const cjs = load(scratch, specifier, 'cjs');
      checkEntry(specifier, dir, expected, esm, cjs);
      checked++;
      console.log(`ok   ${specifier}: ${esm.names.length} exports (import and require)`);
    }
  }
  if (checked === 0) fail('No built package found: run `npx -y pnpm@10 build` first.');
}

/** The file an exports entry names for a condition (`import` / `require`), following nested conditions. */
function conditionTarget(target, condition) {
  if (typeof target === 'string') return target;
  if (!target || typeof target !== 'object') return undefined;
  const branch = target[condition] ?? target.node ?? target.default;
  if (typeof branch === 'string') return branch;
  if (branch && typeof branch === 'object') return branch.default ?? branch.node;
  return undefined;
}

/** Runs one consumer file in a fresh Node process; answers what the entry resolved to and exported. */
function load(dir, specifier, kind) {
  const file = join(dir, kind === 'esm' ? 'consumer.mjs' : 'consumer.cjs');
  const source =
    kind === 'esm'
      ? `import * as m from ${JSON.stringify(specifier)};
const resolved = import.meta.resolve(${JSON.stringify(specifier)});
const names = Object.keys(m).sort();
const types = Object.fromEntries(names.map((n) => [n, typeof m[n]]));
process.stdout.write(JSON.stringify({ resolved, names, types }));
`
      : `const m = require(${JSON.stringify(specifier)});
const { pathToFileURL } = require('node:url');
const resolved = pathToFileURL(require.resolve(${JSON.stringify(specifier)})).href;
const names = Object.keys(m).filter((n) => n !== '__esModule').sort();
const types = Object.fromEntries(names.map((n) => [n, typeof m[n]]));
process.stdout.write(JSON.stringify({ resolved, names, types }));
`;
  writeFileSync(file, source);
  try {
    const output = execFileSync(process.execPath, [file], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    return JSON.parse(output);
  } catch (error) {
    const stderr = error.stderr ? String(error.stderr).trim() : String(error);
    fail(`${kind === 'esm' ? 'import' : 'require'}('${specifier}') failed:\n${stderr}`);
  }
}

function checkEntry(specifier, dir, expected, esm, cjs) {
  for (const [condition, result] of [
    ['import', esm],
    ['require', cjs],
  ]) {
    const want = expected[condition];
    if (want && result.resolved !== pathToFileURL(join(dir, want)).href) {
      fail(`${condition} of '${specifier}' resolved to ${result.resolved}, expected ${want}`);
    }
    if (result.names.length === 0) fail(`${condition} of '${specifier}' exposes no exports`);
  }
  const missingInCjs = esm.names.filter((n) => !cjs.names.includes(n));
  const missingInEsm = cjs.names.filter((n) => !esm.names.includes(n));
  if (missingInCjs.length || missingInEsm.length) {
    fail(
      `'${specifier}' exports differ between ESM and CommonJS:` +
        (missingInCjs.length ? `\n  only in ESM: ${missingInCjs.join(', ')}` : '') +
        (missingInEsm.length ? `\n  only in CJS: ${missingInEsm.join(', ')}` : ''),
    );
  }
  const typeMismatch = esm.names.filter((n) => esm.types[n] !== cjs.types[n]);
  if (typeMismatch.length) {
    fail(
      `'${specifier}' exports differ in kind: ${typeMismatch.map((n) => `${n} (${esm.types[n]} vs ${cjs.types[n]})`).join(', ')}`,
    );
  }
  const undefinedNames = esm.names.filter((n) => esm.types[n] === 'undefined');
  if (undefinedNames.length) fail(`'${specifier}' exports undefined values: ${undefinedNames.join(', ')}`);
}

function fail(message) {
  throw new CheckFailure(message);
}
