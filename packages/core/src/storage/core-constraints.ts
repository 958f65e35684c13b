import type { ConstraintRules } from './constraint-errors.js';

const duplicateId = (what: string) =>
  ({ kind: 'unique', code: 'duplicate_id', message: `A ${what} with this id already exists` }) as const;
const tenantMissing = { kind: 'reference', code: 'tenant_not_found', message: 'Tenant not found' } as const;
const leadMissing = {
  kind: 'reference',
  code: 'lead_not_found',
  message: 'Lead not found for this tenant',
} as const;
const agentMissing = {
  kind: 'reference',
  code: 'agent_not_found',
  message: 'Agent not found for this tenant',
} as const;

/**
 * The constraints of the core tables (see `coreMigrations`) and the error
 * each raises. The memory store raises the same errors by the same names.
 */
export const coreConstraints: ConstraintRules = {
  client_accounts_pkey: duplicateId('tenant'),

  facebook_pages_pkey: duplicateId('Facebook page'),
  facebook_pages_client_account_fkey: tenantMissing,
  facebook_pages_client_page_key: {
    kind: 'unique',
    code: 'page_already_registered',
    message: 'This tenant already registered this Facebook page',
  },

  waba_configurations_pkey: duplicateId('WABA configuration'),
  waba_configurations_client_account_fkey: tenantMissing,
  waba_configurations_number_key: {
    kind: 'unique',
    code: 'waba_number_taken',
    message: 'This WhatsApp number is already configured',
  },
  waba_configurations_phone_number_id_key: {
    kind: 'unique',
    code: 'phone_number_id_taken',
    message: 'This Cloud API phoneNumberId is already configured',
  },

  bot_profiles_pkey: duplicateId('bot profile'),
  bot_profiles_client_account_fkey: tenantMissing,
  bot_profiles_one_default_key: {
    kind: 'unique',
    code: 'bot_profile_default_taken',
    message: 'Another bot profile became the default at the same time',
  },

  agents_pkey: duplicateId('agent'),
  agents_client_account_fkey: tenantMissing,

  leads_pkey: duplicateId('lead'),
  leads_client_account_fkey: tenantMissing,
  leads_client_phone_key: {
    kind: 'unique',
    code: 'lead_phone_taken',
    message: 'This tenant already has a lead with this phone number',
  },
  leads_waba_configuration_fkey: {
    kind: 'reference',
    code: 'waba_not_found',
    message: 'WABA configuration not found for this tenant',
  },
  leads_bot_profile_fkey: {
    kind: 'reference',
    code: 'bot_profile_not_found',
    message: 'Bot profile not found for this tenant',
  },
  leads_agent_fkey: agentMissing,

  messages_pkey: duplicateId('message'),
  messages_client_account_fkey: tenantMissing,
  messages_lead_fkey: leadMissing,
  messages_client_provider_message_id_key: {
    kind: 'unique',
    code: 'provider_message_id_taken',
    message: 'This tenant already has a message with this provider message id',
  },

  appointments_pkey: duplicateId('appointment'),
  appointments_client_account_fkey: tenantMissing,
  appointments_lead_fkey: leadMissing,
  appointments_agent_fkey: agentMissing,
  appointments_time_check: {
    kind: 'check',
    code: 'validation_failed',
    message: 'Invalid appointment at endsAt: endsAt must be after startsAt',
  },

  template_usage_log_pkey: duplicateId('template usage record'),
  template_usage_log_client_account_fkey: tenantMissing,
  template_usage_log_lead_fkey: leadMissing,
  template_usage_log_agent_fkey: agentMissing,
};
