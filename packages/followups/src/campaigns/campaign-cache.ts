import type { FollowUpStore } from '../store/ports.js';
import { type CompiledCampaign, compileCampaign } from './compile-campaign.js';

export interface CampaignCache {
  /** The compiled campaign version, compiled once and kept; `null` when it does not exist. */
  get(clientAccountId: string, campaignId: string, version: number): Promise<CompiledCampaign | null>;
}

/**
 * Compiles each campaign version once per process. Versions never change
 * after they are written, so entries never go stale; the oldest are dropped
 * past `max` entries.
 *
 * @example const cache = createCampaignCache(store); await cache.get(tenant, id, 3);
 */
export function createCampaignCache(store: FollowUpStore, options: { max?: number } = {}): CampaignCache {
  const max = options.max ?? 500;
  const entries = new Map<string, Promise<CompiledCampaign | null>>();
  return {
    get(clientAccountId, campaignId, version) {
      const key = `${clientAccountId}\u0000${campaignId}\u0000${version}`;
      let hit = entries.get(key);
      if (!hit) {
        hit = store
          .getCampaignVersion(clientAccountId, campaignId, version)
          .then((v) => (v ? compileCampaign(v) : null));
        hit.catch(() => entries.delete(key));
        entries.set(key, hit);
        if (entries.size > max) entries.delete(entries.keys().next().value!);
      }
      return hit;
    },
  };
}
