import type {
  Agent,
  AgentInput,
  Appointment,
  AppointmentInput,
  BotProfile,
  BotProfileInput,
  FacebookPage,
  FacebookPageInput,
  Lead,
  LeadInput,
  LeadPatch,
  LeadSource,
  Message,
  MessageInput,
  MessageStatus,
  TemplateUsageInput,
  TemplateUsageRecord,
  Tenant,
  TenantInput,
  WabaConfiguration,
  WabaConfigurationInput,
} from '../schemas/domain.js';

/**
 * Storage ports: the only way packages read and write core records. Every
 * method that touches tenant data takes the tenant (`clientAccountId`) first
 * and never returns another tenant's rows. Lookups by a global key used for
 * routing (a Meta page id, a WhatsApp number) are the named exceptions.
 */

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; `null` when this was the last. */
  nextCursor: string | null;
}

export interface ListOptions {
  limit?: number;
  cursor?: string | null;
}

export interface TenantRepository {
  create(input: TenantInput): Promise<Tenant>;
  get(id: string): Promise<Tenant | null>;
  update(id: string, patch: Partial<Omit<TenantInput, 'id'>>): Promise<Tenant>;
  list(options?: ListOptions): Promise<Page<Tenant>>;
  /**
   * Deletes the tenant and every row of it; false when there was none. On
   * Postgres the foreign keys of every package's tables (core, meta-leads,
   * waba, follow-ups) cascade, so one call leaves nothing of the tenant in
   * the database. The memory store deletes its own rows only.
   */
  delete(id: string): Promise<boolean>;
}

export interface FacebookPageRepository {
  /** Creates the page or, when the tenant already has it, updates it. */
  upsert(input: FacebookPageInput): Promise<FacebookPage>;
  get(clientAccountId: string, id: string): Promise<FacebookPage | null>;
  getByPageId(clientAccountId: string, pageId: string): Promise<FacebookPage | null>;
  /** Routing: the active page registrations for a Meta page id, whichever tenant holds them. */
  findByPageId(pageId: string): Promise<FacebookPage[]>;
  update(
    clientAccountId: string,
    id: string,
    patch: Partial<
      Pick<
        FacebookPage,
        'pageName' | 'accessTokenEncrypted' | 'webhookSubscribed' | 'status' | 'defaultCountry'
      >
    >,
  ): Promise<FacebookPage>;
  list(clientAccountId: string): Promise<FacebookPage[]>;
}

export interface WabaConfigurationRepository {
  create(input: WabaConfigurationInput): Promise<WabaConfiguration>;
  get(clientAccountId: string, id: string): Promise<WabaConfiguration | null>;
  /** Routing: the configuration that owns a WhatsApp business number. */
  findByNumber(wabaNumber: string): Promise<WabaConfiguration | null>;
  /** Routing: a Cloud API configuration by its `providerConfig.phoneNumberId`. */
  findByPhoneNumberId(phoneNumberId: string): Promise<WabaConfiguration | null>;
  update(
    clientAccountId: string,
    id: string,
    patch: Partial<Omit<WabaConfigurationInput, 'id' | 'clientAccountId'>>,
  ): Promise<WabaConfiguration>;
  list(clientAccountId: string): Promise<WabaConfiguration[]>;
}

export interface BotProfileRepository {
  create(input: BotProfileInput): Promise<BotProfile>;
  get(clientAccountId: string, id: string): Promise<BotProfile | null>;
  update(
    clientAccountId: string,
    id: string,
    patch: Partial<Omit<BotProfileInput, 'id' | 'clientAccountId'>>,
  ): Promise<BotProfile>;
  list(clientAccountId: string): Promise<BotProfile[]>;
  delete(clientAccountId: string, id: string): Promise<boolean>;
}

export interface LeadQuery extends ListOptions {
  status?: Lead['status'][];
  source?: LeadSource;
  search?: string;
}

export interface LeadUpsertResult {
  lead: Lead;
  /** True when no lead with this phone existed for the tenant. */
  created: boolean;
}

export interface LeadRepository {
  create(input: LeadInput): Promise<Lead>;
  /**
   * Creates the lead, or merges it into the tenant's lead with the same phone:
   * a new source joins `additionalSources` (no duplicates), answers and
   * attributes are merged, empty fields are filled, existing ones kept.
   * Safe under concurrency: two upserts of one phone yield one lead.
   */
  upsertByPhone(input: LeadInput & { phone: string }): Promise<LeadUpsertResult>;
  get(clientAccountId: string, id: string): Promise<Lead | null>;
  getByPhone(clientAccountId: string, phone: string): Promise<Lead | null>;
  /** The tenant's leads with these ids, in no particular order; unknown ids are left out. */
  getMany(clientAccountId: string, ids: readonly string[]): Promise<Lead[]>;
  update(clientAccountId: string, id: string, patch: LeadPatch): Promise<Lead>;
  list(clientAccountId: string, query?: LeadQuery): Promise<Page<Lead>>;
  /**
   * Deletes the lead with its messages, appointments and (on Postgres) its
   * follow-up enrolments; the template usage log and leadgen events keep
   * their rows with the lead unset. False when the tenant has no such lead.
   */
  delete(clientAccountId: string, id: string): Promise<boolean>;
}

export interface MessageRepository {
  create(input: MessageInput): Promise<Message>;
  get(clientAccountId: string, id: string): Promise<Message | null>;
  /** Finds a message by either provider id (send id or the WhatsApp wamid). */
  findByProviderId(clientAccountId: string, providerId: string): Promise<Message | null>;
  updateStatus(
    clientAccountId: string,
    id: string,
    update: {
      status: MessageStatus;
      statusAt?: Date;
      providerMessageId?: string | null;
      providerAltId?: string | null;
      errorCode?: string | null;
      errorReason?: string | null;
    },
  ): Promise<Message>;
  /** The conversation with one lead, oldest first. */
  listByLead(clientAccountId: string, leadId: string, options?: ListOptions): Promise<Page<Message>>;
}

export interface AgentRepository {
  create(input: AgentInput): Promise<Agent>;
  get(clientAccountId: string, id: string): Promise<Agent | null>;
  update(
    clientAccountId: string,
    id: string,
    patch: Partial<Omit<AgentInput, 'id' | 'clientAccountId'>>,
  ): Promise<Agent>;
  list(clientAccountId: string): Promise<Agent[]>;
}

export interface AppointmentQuery extends ListOptions {
  leadId?: string;
  agentId?: string;
  from?: Date;
  to?: Date;
}

export interface AppointmentRepository {
  create(input: AppointmentInput): Promise<Appointment>;
  get(clientAccountId: string, id: string): Promise<Appointment | null>;
  update(
    clientAccountId: string,
    id: string,
    patch: Partial<
      Pick<
        Appointment,
        'status' | 'startsAt' | 'endsAt' | 'agentId' | 'location' | 'meetingUrl' | 'calendarEventId' | 'notes'
      >
    >,
  ): Promise<Appointment>;
  list(clientAccountId: string, query?: AppointmentQuery): Promise<Page<Appointment>>;
}

export interface TemplateUsageRepository {
  record(input: TemplateUsageInput): Promise<TemplateUsageRecord>;
  list(
    clientAccountId: string,
    query?: ListOptions & { templateName?: string; leadId?: string; since?: Date },
  ): Promise<Page<TemplateUsageRecord>>;
}

/** What a WhatsApp send reads before it goes out. */
export interface OutboundContext {
  /** The tenant's lead with that id or phone, or `null` when it has none. */
  lead: Lead | null;
  /** The tenant's WhatsApp numbers, oldest first (what `wabaConfigurations.list` answers). */
  wabaConfigurations: WabaConfiguration[];
}

export interface OutboundRecordInput {
  /** The message row; its tenant is the tenant of the whole write. */
  message: MessageInput;
  /** Set as the message's lead's `lastOutboundAt` in the same write; omitted, the lead is left as it is. */
  lastOutboundAt?: Date;
  /** The template usage line, stored for the message's tenant. */
  templateUsage?: Omit<TemplateUsageInput, 'clientAccountId'>;
}

/**
 * The send path's reads and writes, each one round trip on a database: a
 * send touches several tables, and per-row statements would cost a round
 * trip (and a commit) each.
 */
export interface OutboundRepository {
  /** The lead (by id or phone) and the tenant's WhatsApp numbers, read together. */
  context(clientAccountId: string, lead: { id: string } | { phone: string }): Promise<OutboundContext>;
  /**
   * Stores an outbound message, the lead's `lastOutboundAt` and the template
   * usage line as one write: all of them or, when one is refused, none.
   */
  record(input: OutboundRecordInput): Promise<Message>;
}

/** All core repositories over one backing store. */
export interface CoreStore {
  readonly tenants: TenantRepository;
  readonly pages: FacebookPageRepository;
  readonly wabaConfigurations: WabaConfigurationRepository;
  readonly botProfiles: BotProfileRepository;
  readonly leads: LeadRepository;
  readonly messages: MessageRepository;
  readonly agents: AgentRepository;
  readonly appointments: AppointmentRepository;
  readonly templateUsage: TemplateUsageRepository;
  readonly outbound: OutboundRepository;
}
