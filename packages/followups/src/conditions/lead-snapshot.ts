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
  const nowMs = now.getTime();
  const since = (d: Date | null) => (d ? (nowMs - d.getTime()) / HOUR : null);
  const name = lead.name?.trim() || null;
  const phone = lead.phone;
  let country: string | null | undefined;
  const snapshotLead = {
    id: lead.id,
    name,
    firstName: name ? name.split(/\s+/)[0]! : null,
    phone,
    // Parsing the number is the costliest part of a snapshot: done on first read only.
    get country(): string | null {
      if (country === undefined) country = phone ? (phoneCountry(phone) ?? null) : null;
      return country;
    },
    email: lead.email,
    source: lead.source,
    additionalSources: Object.freeze([...lead.additionalSources]),
    status: lead.status,
    answers: frozenCopy(lead.answers),
    attributes: frozenCopy(lead.attributes),
    timeZone: lead.timeZone,
    optedOut: lead.optedOut,
    agentId: lead.agentId,
    createdAt: lead.createdAt.toISOString(),
    lastInboundAt: iso(lead.lastInboundAt),
    lastOutboundAt: iso(lead.lastOutboundAt),
  };
  // Frozen level by level: answers and attributes are frozen copies already, the lazy country is left unread.
  return Object.freeze({
    lead: Object.freeze(snapshotLead),
    tenant: Object.freeze({
      id: tenant?.id ?? lead.clientAccountId,
      name: tenant?.name ?? null,
      timeZone: tenant?.timeZone ?? null,
    }),
    now: now.toISOString(),
    hoursSinceCreated: (nowMs - lead.createdAt.getTime()) / HOUR,
    lastInboundHoursAgo: since(lead.lastInboundAt),
    lastOutboundHoursAgo: since(lead.lastOutboundAt),
    windowOpen: isWindowOpen(lead.lastInboundAt, now),
  });
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
