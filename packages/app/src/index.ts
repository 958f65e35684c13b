export {
  createLeadRelay,
  type LeadRelay,
  type LeadRelayHooks,
  type LeadRelayOptions,
} from './create-lead-relay.js';
export {
  appMigrations,
  createMemoryTenantSettings,
  createPostgresTenantSettings,
  generateIntakeKey,
  hashIntakeKey,
  intakeKeyMatches,
  type TenantSettings,
  type TenantSettingsPatch,
  type TenantSettingsStore,
} from './settings/tenant-settings.js';
