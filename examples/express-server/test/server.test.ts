import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresDatabase, quoteIdent, signMetaBody } from '@leadrelay/core';
import { afterAll, describe, expect, it } from 'vitest';

const hooks = fileURLToPath(new URL('../../../test-support/source-hooks.mjs', import.meta.url));
const script = fileURLToPath(new URL('../src/server.ts', import.meta.url));
const MASTER_KEY = randomBytes(32).toString('base64');
const ADMIN_TOKEN = 'e2e-admin-token-0123456789';

interface Server {
  child: ChildProcess;
  base: Promise<string>;
  exited: Promise<number | null>;
  output: () => string;
}

function startServer(env: Record<string, string>): Server {
  const child = spawn(process.execPath, ['--no-warnings', '--import', hooks, script], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const base = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /listening on (\d+)/.exec(out);
      if (match) resolve(`http://127.0.0.1:${match[1]}`);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, base, exited, output: () => out };
}

describe('the reference server configuration', () => {
  it('refuses to start without its secrets, naming each variable', async () => {
    const server = startServer({ PORT: '0', LEADRELAY_MASTER_KEY: 'short' });
    await expect(server.base).rejects.toThrow(/exited \(78\)/);
    expect(await server.exited).toBe(78);
    expect(server.output()).toContain('LEADRELAY_MASTER_KEY: must be a base64 32-byte key');
    expect(server.output()).toContain('ADMIN_TOKEN: is required');
  });
});

const url = process.env.DATABASE_URL;
const databases: {
  name: string;
  env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>;
}[] = [
  {
    name: 'pglite',
    env: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'leadrelay-e2e-'));
      return { env: { DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  ...(url
    ? [
        {
          name: 'postgres',
          env: async () => {
            const schema = `lr_e2e_${randomBytes(5).toString('hex')}`;
            const admin = await createPostgresDatabase({ connectionString: url, poolConfig: { max: 1 } });
            await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
            const scoped = new URL(url);
            scoped.searchParams.set('options', `-c search_path=${schema}`);
            return {
              env: { DATABASE_URL: scoped.toString() },
              cleanup: async () => {
                await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
                await admin.close();
              },
            };
          },
        },
      ]
    : []),
];

for (const database of databases) {
  describe(`the reference server over HTTP on ${database.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const cleanup of cleanups) await cleanup();
    });

    it('onboards a client, verifies Meta, refuses a forged lead, takes a website lead, and stops cleanly on SIGTERM', async () => {
      const { env, cleanup } = await database.env();
      cleanups.push(cleanup);
      const server = startServer({ ...env, PORT: '0', LEADRELAY_MASTER_KEY: MASTER_KEY, ADMIN_TOKEN });
      try {
        const base = await server.base;
        expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
        expect(await (await fetch(`${base}/readyz`)).json()).toEqual({
          status: 'ready',
          background: 'running',
        });

        const created = await fetch(`${base}/api/admin/clients`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            name: 'Acme Realty',
            timezone: 'Asia/Kolkata',
            meta: { appId: '1234567890', appSecret: 'acme-app-secret-1', verifyToken: 'acme-verify-token' },
            waba: {
              provider: 'cloud',
              number: '+919000000001',
              phoneNumberId: '106540352242922',
              accessToken: 'cloud-token-0001',
            },
            welcomeTemplate: 'welcome_lead',
          }),
        });
        expect(created.status).toBe(201);
        const client = (await created.json()) as { id: string; intakeKey: string };

        const verify = (token: string) =>
          fetch(
            `${base}/api/meta/webhook/${client.id}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=1158201444`,
          );
        const right = await verify('acme-verify-token');
        expect(right.status).toBe(200);
        expect(await right.text()).toBe('1158201444');
        expect((await verify('wrong-token')).status).toBe(403);

        const body = JSON.stringify({
          object: 'page',
          entry: [{ id: '1110000000001', time: Math.floor(Date.now() / 1000), changes: [] }],
        });
        const forged = await fetch(`${base}/api/meta/webhook/${client.id}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': signMetaBody(body, 'not-it'),
          },
          body,
        });
        expect(forged.status).toBe(401);

        const lead = await fetch(`${base}/api/leads/${client.id}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${client.intakeKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Priya Sharma', phone: '+919812345678' }),
        });
        expect(lead.status).toBe(201);
        const again = await fetch(`${base}/api/leads/${client.id}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${client.intakeKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Priya Sharma', phone: '098123 45678', source: 'Referral' }),
        });
        expect(again.status).toBe(200);
        expect((await again.json()).id).toBe((await lead.json()).id);
        expect(server.output()).not.toContain('acme-app-secret-1');
        expect(server.output()).not.toContain(client.intakeKey);
      } finally {
        server.child.kill('SIGTERM');
      }
      expect(await server.exited).toBe(0);
    }, 60_000);
  });
}
