/**
 * Words a lead writes to stop or restart WhatsApp messages. Matching ignores
 * case, accents, surrounding spaces and punctuation, and takes the whole
 * message: "STOP" opts out, "please stop calling me at work" does not.
 */
export interface ConsentKeywords {
  optOut: string[];
  optIn: string[];
}

/** English, Spanish, Portuguese, French, German, Hindi and Hinglish defaults. */
export const defaultConsentKeywords: ConsentKeywords = {
  // Deliberately not "cancel" or "end": leads write those about appointments.
  optOut: [
    'stop',
    'stop all',
    'stopall',
    'unsubscribe',
    'opt out',
    'optout',
    'parar',
    'pare',
    'baja',
    'darse de baja',
    'arrêter',
    'stopp',
    'abmelden',
    'रोकें',
    'रोको',
    'बंद करें',
    'band karo',
  ],
  optIn: [
    'start',
    'subscribe',
    'unstop',
    'opt in',
    'optin',
    'empezar',
    'iniciar',
    'começar',
    'शुरू करें',
    'shuru karo',
  ],
};

/**
 * Case-, accent- and punctuation-insensitive form of a message for keyword matching.
 *
 * @example normaliseKeyword(' Arrêter! ') // 'arreter'
 */
export function normaliseKeyword(text: string): string {
  return (
    text
      .normalize('NFKD')
      // Strip Latin accents only: Devanagari vowel signs are combining marks too and must stay.
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[\p{P}\p{S}]/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .normalize('NFC')
  );
}

/**
 * `opt_out`, `opt_in` or `null` for an inbound text.
 *
 * @example consentKeyword('  Stop! ') // 'opt_out'
 */
export function consentKeyword(
  text: string | null | undefined,
  keywords: ConsentKeywords = defaultConsentKeywords,
): 'opt_out' | 'opt_in' | null {
  if (!text || text.length > 40) return null;
  const normalised = normaliseKeyword(text);
  if (keywords.optOut.some((k) => normaliseKeyword(k) === normalised)) return 'opt_out';
  if (keywords.optIn.some((k) => normaliseKeyword(k) === normalised)) return 'opt_in';
  return null;
}
