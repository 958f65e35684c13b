import { readFileSync } from 'node:fs';

/**
 * The shared fixtures live beside the repository (`../shared/fixtures` from
 * the repo root, i.e. four levels up from this file).
 */
export const FIXTURES = new URL('../../../../shared/fixtures/', import.meta.url);

/** The app secret the signed fixtures were signed with. */
export const FIXTURE_APP_SECRET = 'fixture-app-secret-4f1c2b9a';

/** A fixture's bytes exactly as stored. */
export function fixtureBytes(name: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

export function fixtureJson<T = unknown>(name: string): T {
  return JSON.parse(fixtureText(name)) as T;
}

/** The signatures listed in the fixtures README. */
export const FIXTURE_SIGNATURES = {
  'meta-leadgen-single.json': 'sha256=94f601cbef629d1b3c179d00b045744590a9ad3899f2894a8864f91bb8f07719',
  'meta-leadgen-batch.json': 'sha256=433f16ae236cd395ff22f4bc71dd08b4a9c95a0f7680c300737a228429e8df88',
  'meta-page-feed-ignored.json': 'sha256=a9e71c276f7a5c16682e2c8347638ef548f0aaf84a1b533a417dee0cc6840270',
  'cloud-status-delivered.json': 'sha256=1456dbf09edc5c4c5008f5c8f93b4ec5abbaeaf034adcb70efc40b21fe9494cd',
} as const;

export const CTWA_FIXTURE = 'cloud-inbound-text-ctwa.json';
export const CTWA_SIGNATURE_RAW = 'sha256=424f19796af99847bd7e05f1a901a7d6ddf0c0919e96dabe4955aed5a935d6b1';
export const CTWA_SIGNATURE_META = 'sha256=975f2edbd375221abeb32cc7bfb2746d2c696b1ce01ea61b824c566e6ec5dd5b';
