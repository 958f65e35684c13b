export interface BuildLeadgenChange {
  leadgenId: string;
  formId?: string;
  /** Omit (or `organic: true`) for an organic lead: no ad ids. */
  adId?: string;
  adgroupId?: string;
  organic?: boolean;
  createdTime?: number;
  /** Defaults to the entry's page id. */
  pageId?: string;
}

export interface BuildLeadgenEntry {
  pageId: string;
  /** Unix seconds; default now. */
  time?: number;
  leads: (string | BuildLeadgenChange)[];
  /** Extra changes of other fields, e.g. `{ field: 'feed', value: {} }`. */
  otherChanges?: { field: string; value: unknown }[];
}

export interface BuildLeadgenWebhookOptions {
  /** Shorthand for one entry: the page and its leadgen ids. */
  pageId?: string;
  leadgenIds?: string[];
  time?: number;
  entries?: BuildLeadgenEntry[];
  /** Default `page`. */
  object?: string;
}

/**
 * A Lead Ads webhook body in Meta's format (ids as strings), as an object:
 * `JSON.stringify` it and sign it with `signMetaBody`.
 *
 * @example
 * const body = JSON.stringify(buildLeadgenWebhook({ pageId: '1110000000001', leadgenIds: ['9000000000000001'] }));
 */
export function buildLeadgenWebhook(options: BuildLeadgenWebhookOptions) {
  const now = Math.floor(Date.now() / 1000);
  const entries: BuildLeadgenEntry[] = [
    ...(options.pageId !== undefined
      ? [{ pageId: options.pageId, time: options.time ?? now, leads: options.leadgenIds ?? [] }]
      : []),
    ...(options.entries ?? []),
  ];
  return {
    object: options.object ?? 'page',
    entry: entries.map((entry) => {
      const time = entry.time ?? options.time ?? now;
      return {
        id: entry.pageId,
        time,
        changes: [
          ...entry.leads.map((lead) => {
            const change: BuildLeadgenChange = typeof lead === 'string' ? { leadgenId: lead } : lead;
            const organic = change.organic === true;
            return {
              field: 'leadgen',
              value: {
                ...(organic ? {} : { ad_id: change.adId ?? '23850000000001' }),
                form_id: change.formId ?? '770000000000001',
                leadgen_id: change.leadgenId,
                created_time: change.createdTime ?? time,
                page_id: change.pageId ?? entry.pageId,
                ...(organic ? {} : { adgroup_id: change.adgroupId ?? '23850000000002' }),
              },
            };
          }),
          ...(entry.otherChanges ?? []),
        ],
      };
    }),
  };
}
