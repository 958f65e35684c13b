import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createSecretBox, generateSecretKey } from '@leadrelay/core';
import { compare, measure, type SuiteResult } from '../harness.ts';

/**
 * Secret box throughput, against bare node:crypto AES-256-GCM on the same
 * plaintext: the ratio is the cost of the envelope (key id, encoding, AAD).
 */
export default async function run(): Promise<SuiteResult> {
  const box = createSecretBox({
    keys: [
      { id: 'k2', key: generateSecretKey() },
      { id: 'k1', key: generateSecretKey() },
    ],
  });
  const plaintext = 'EAAGm0PX4ZCpsBAKZCZCe9pageaccesstoken0123456789abcdefghijklmnopqrstuvwxyz';
  const sealed = box.encrypt(plaintext, { context: 'page:1110000000001' });
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const raw = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();

  const rows = await measure('secret-box', [
    { name: 'secretBox.encrypt', fn: () => box.encrypt(plaintext, { context: 'page:1110000000001' }) },
    { name: 'secretBox.decrypt', fn: () => box.decrypt(sealed, { context: 'page:1110000000001' }) },
    {
      name: 'node:crypto aes-256-gcm encrypt',
      fn: () => {
        const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
        Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
        return c.getAuthTag();
      },
    },
    {
      name: 'node:crypto aes-256-gcm decrypt',
      fn: () => {
        const d = createDecipheriv('aes-256-gcm', key, iv);
        d.setAuthTag(tag);
        return Buffer.concat([d.update(raw), d.final()]).toString('utf8');
      },
    },
  ]);
  return {
    rows,
    comparisons: [
      compare(rows, 'secretBox.encrypt', 'node:crypto aes-256-gcm encrypt'),
      compare(rows, 'secretBox.decrypt', 'node:crypto aes-256-gcm decrypt'),
    ],
  };
}
