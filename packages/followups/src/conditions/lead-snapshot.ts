import { type Lead, phoneCountry } from '@leadrelay/core';

/** The lead fields follow-ups read; core's `Lead` has all of them. */
export type FollowUpLead = Pick<
  Lead,
  | 'id'
  | 'clientAccountId'
  | 'phone'
  | 'name'
  | 'email'
  | 'source'
  | 'additionalSources'
  | 'status'
  | 'answers'
  | 'attributes'
  | 'timeZone'
  | 'optedOut'
  | 'agentId'
  | 'lastInboundAt'
  | 'lastOutboundAt'
  | 'createdAt'
>;

/**
 * The facts a condition, a placeholder or a template parameter can read.
 * Timestamps are ISO strings (`hours_since`/`days_since` read them against
 * `now`); durations are pre-computed numbers (null when there is no event).
 */
export interface LeadSnapshot {
  readonly lead: {
    readonly id: string;
    readonly name: string | null;
    /** The first word of `name`, for greetings. */
    readonly firstName: string | null;
    readonly phone: string | null;
    readonly country: string | null;
    readonly email: string | null;
    readonly source: string;
    readonly additionalSources: readonly string[];
    readonly status: string;
    readonly answers: Readonly<Record<string, unknown>>;
    readonly attributes: Readonly<Record<string, unknown>>;
    readonly timeZone: string | null;
    readonly optedOut: boolean;
    readonly agentId: string | null;
    readonly createdAt: string;
    readonly lastInboundAt: string | null;
    readonly lastOutboundAt: string | null;
  };
  readonly tenant: { readonly id: string; readonly name: string | null; readonly timeZone: string | null };
  /** The evaluation instant, ISO. */
  readonly now: string;
  readonly hoursSinceCreated: number;
  readonly lastInboundHoursAgo: number | null;
  readonly lastOutboundHoursAgo: number | null;
  /** Whether the 24-hour customer service window is open at `now`. */
  readonly windowOpen: boolean;
}

export interface SnapshotInput {
  lead: FollowUpLead;
  tenant?: { id: string; name?: string | null; timeZone?: string | null } | null;
  now: Date;
}

const HOUR = 3_600_000;
const WINDOW_MS = 24 * HOUR;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    // Own data properties only: accessors (the lazy country) are left unread.
    for (const d of Object.values(Object.getOwnPropertyDescriptors(value)))
      if ('value' in d) deepFreeze(d.value);
  }
  return value;
}

const EMPTY = Object.freeze({});

/** A frozen deep copy of a JSON-like record; the shared empty object when there is nothing to copy. */
function frozenCopy(value: Record<string, unknown>): Readonly<Record<string, unknown>> {
  for (const _ in value) return deepFreeze(structuredClone(value));
  return EMPTY;
}

function iso(d: Date | null | undefined): string | null {
  return d ? d.toISOString() : null;
}

/**
 * Builds the frozen snapshot of a lead that conditions, text placeholders and
 * template parameters read. The runner and `preview` both use this one
 * function, so a preview shows exactly what the runner will decide.
 *
 * @example
 * const s = buildLeadSnapshot({ lead, tenant, now: new Date() });
 * compileCondition({ '<': [{ var: 'lastInboundHoursAgo' }, 24] }).test(s);
 */
export function buildLeadSnapshot(input: SnapshotInput): LeadSnapshot {
  const { lead, tenant, now } = input;
  return new Snapshot(lead, tenant ?? null, now);
}

const NO_SOURCES: readonly string[] = Object.freeze([]);

type LazyLeadField = 'country' | 'createdAt' | 'lastInboundAt' | 'lastOutboundAt';

/**
 * The lead part of a snapshot. Parsing the number and formatting dates are
 * the costly parts, done on first read only (most conditions and templates
 * read a few fields, and the runner builds one snapshot per step): prototype
 * getters memoise into private fields, which stay writable on a frozen object.
 */
class SnapshotLead {
  readonly #lead: FollowUpLead;
  #country: string | null | undefined;
  #createdAt: string | undefined;
  #lastInboundAt: string | null | undefined;
  #lastOutboundAt: string | null | undefined;

  constructor(lead: FollowUpLead) {
    const name = lead.name?.trim() || null;
    const eager: Omit<LeadSnapshot['lead'], LazyLeadField> = {
      id: lead.id,
      name,
      firstName: name ? firstWord(name) : null,
      phone: lead.phone,
      email: lead.email,
      source: lead.source,
      additionalSources:
        lead.additionalSources.length === 0 ? NO_SOURCES : Object.freeze([...lead.additionalSources]),
      status: lead.status,
      answers: frozenCopy(lead.answers),
      attributes: frozenCopy(lead.attributes),
      timeZone: lead.timeZone,
      optedOut: lead.optedOut,
      agentId: lead.agentId,
    };
    Object.assign(this, eager);
    this.#lead = lead;
    Object.freeze(this);
  }

  get country(): string | null {
    const phone = this.#lead.phone;
    if (this.#country === undefined) this.#country = phone ? (phoneCountry(phone) ?? null) : null;
    return this.#country;
  }

  get createdAt(): string {
    this.#createdAt ??= this.#lead.createdAt.toISOString();
    return this.#createdAt;
  }

  get lastInboundAt(): string | null {
    if (this.#lastInboundAt === undefined) this.#lastInboundAt = iso(this.#lead.lastInboundAt);
    return this.#lastInboundAt;
  }

  get lastOutboundAt(): string | null {
    if (this.#lastOutboundAt === undefined) this.#lastOutboundAt = iso(this.#lead.lastOutboundAt);
    return this.#lastOutboundAt;
  }

  /** The plain form (`JSON.stringify` reads own properties only, so the getters are listed here). */
  toJSON(): LeadSnapshot['lead'] {
    return {
      ...(this as unknown as Omit<LeadSnapshot['lead'], LazyLeadField>),
      country: this.country,
      createdAt: this.createdAt,
      lastInboundAt: this.lastInboundAt,
      lastOutboundAt: this.lastOutboundAt,
    };
  }
}

class Snapshot implements LeadSnapshot {
  readonly lead: LeadSnapshot['lead'];
  readonly tenant: LeadSnapshot['tenant'];
  readonly hoursSinceCreated: number;
  readonly lastInboundHoursAgo: number | null;
  readonly lastOutboundHoursAgo: number | null;
  readonly windowOpen: boolean;
  readonly #now: Date;
  #nowIso: string | undefined;

  constructor(lead: FollowUpLead, tenant: SnapshotInput['tenant'], now: Date) {
    const nowMs = now.getTime();
    // Its eager fields are assigned in its constructor; the lazy ones are getters.
    this.lead = new SnapshotLead(lead) as unknown as LeadSnapshot['lead'];
    this.tenant = Object.freeze({
      id: tenant?.id ?? lead.clientAccountId,
      name: tenant?.name ?? null,
      timeZone: tenant?.timeZone ?? null,
    });
    this.hoursSinceCreated = (nowMs - lead.createdAt.getTime()) / HOUR;
    this.lastInboundHoursAgo = lead.lastInboundAt ? (nowMs - lead.lastInboundAt.getTime()) / HOUR : null;
    this.lastOutboundHoursAgo = lead.lastOutboundAt ? (nowMs - lead.lastOutboundAt.getTime()) / HOUR : null;
    this.windowOpen = isWindowOpen(lead.lastInboundAt, now);
    this.#now = now;
    Object.freeze(this);
  }

  get now(): string {
    this.#nowIso ??= this.#now.toISOString();
    return this.#nowIso;
  }

  toJSON(): LeadSnapshot {
    return { ...this, now: this.now };
  }
}

/** The first word of a trimmed name (`Priya` of `Priya Sharma`), without splitting the whole string. */
function firstWord(name: string): string {
  const end = name.search(/\s/);
  return end === -1 ? name : name.slice(0, end);
}

/**
 * Whether the 24-hour customer service window is open: the lead wrote less
 * than 24 hours before `now`. Free text may be sent only then.
 *
 * @example isWindowOpen(new Date('2026-11-25T08:00:00Z'), new Date('2026-11-25T20:00:00Z')) // true
 */
export function isWindowOpen(lastInboundAt: Date | null, now: Date): boolean {
  if (!lastInboundAt) return false;
  const age = now.getTime() - lastInboundAt.getTime();
  return age >= 0 && age < WINDOW_MS;
}
