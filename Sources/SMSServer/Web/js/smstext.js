// SMS encoding, length and segments in the browser: the mirror of SMSCore's SMSText.analyze
// (Sources/SMSCore/SMSText.swift, SMSEncoding.swift), so a counter under a text box says exactly
// what the server will send. Tested against the same gsm0338.json vectors and against the
// server's own analysis of sent messages (Tests/browser/test_inbox.py).
//
// - GSM-7 iff every Unicode scalar is in the GSM 03.38 basic or extension table (no normalisation:
//   a decomposed e + U+0301 is not GSM-7); otherwise UCS-2 for the whole text.
// - Units: GSM-7 septets (extension characters count 2) or UTF-16 code units (an emoji outside
//   the BMP counts 2).
// - At most 160 / 70 units is one segment; longer texts are split into segments of at most
//   153 / 67 units, keeping each grapheme cluster whole (only a cluster longer than a whole
//   segment is cut, between its scalars).
// - The empty text is 0 segments.

const BASIC = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?'
  + '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENSION = '\f^{}\\[~]|€';

const SEPTETS = new Map();
for (const ch of BASIC) SEPTETS.set(ch.codePointAt(0), 1);
for (const ch of EXTENSION) SEPTETS.set(ch.codePointAt(0), 2);

export const GSM7 = 'GSM-7';
export const UCS2 = 'UCS-2';

const LIMITS = {
  [GSM7]: { single: 160, concatenated: 153 },
  [UCS2]: { single: 70, concatenated: 67 },
};

/** Septets of one code point: 1, 2, or 0 when GSM 03.38 cannot carry it. */
export function septets(codePoint) {
  return SEPTETS.get(codePoint) || 0;
}

function cost(codePoint, encoding) {
  if (encoding === GSM7) return septets(codePoint) || 1;
  return codePoint > 0xFFFF ? 2 : 1;
}

function codePoints(text) {
  const out = [];
  for (const ch of text) out.push(ch.codePointAt(0));
  return out;
}

let segmenter;
/** The text's grapheme clusters (extended, as Swift's Character), or its code points without Intl.Segmenter. */
export function graphemes(text) {
  if (segmenter === undefined) {
    segmenter = typeof Intl !== 'undefined' && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : null;
  }
  if (!segmenter) return Array.from(text);
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/** Whether every scalar of the text is in GSM 03.38 (the empty text is). */
export function canEncodeGSM7(text) {
  for (const ch of text) if (!septets(ch.codePointAt(0))) return false;
  return true;
}

/** Distinct grapheme clusters holding a scalar outside GSM 03.38, in order of first appearance. */
export function nonGSMCharacters(text) {
  const seen = new Set();
  const out = [];
  for (const g of graphemes(text)) {
    if (canEncodeGSM7(g)) continue;
    // Keyed by scalars, not by canonical equivalence, as the server does.
    const key = codePoints(g).join(',');
    if (!seen.has(key)) { seen.add(key); out.push(g); }
  }
  return out;
}

/** The text's segments under `encoding`: joined they give the text back. */
export function split(text, encoding = canEncodeGSM7(text) ? GSM7 : UCS2) {
  const limits = LIMITS[encoding];
  let total = 0;
  for (const cp of codePoints(text)) total += cost(cp, encoding);
  if (text === '') return { segments: [], units: 0, unitsInLastSegment: 0 };
  if (total <= limits.single) return { segments: [text], units: total, unitsInLastSegment: total };

  const limit = limits.concatenated;
  const segments = [];
  let current = '';
  let used = 0;
  const close = () => { segments.push(current); current = ''; used = 0; };
  for (const g of graphemes(text)) {
    const points = codePoints(g);
    const gCost = points.reduce((sum, cp) => sum + cost(cp, encoding), 0);
    if (used + gCost <= limit) {
      current += g;
      used += gCost;
    } else if (gCost <= limit) {
      close();
      current = g;
      used = gCost;
    } else {
      // A cluster longer than a whole segment: cut between its scalars, never inside one.
      for (const cp of points) {
        const c = cost(cp, encoding);
        if (used + c > limit) close();
        current += String.fromCodePoint(cp);
        used += c;
      }
    }
  }
  if (current !== '') segments.push(current);
  return { segments, units: total, unitsInLastSegment: used };
}

/**
 * { encoding: 'GSM-7' | 'UCS-2', units, segments, perSegmentLimit, remainingInSegment, nonGSMCharacters }
 * with the same values (and keys) as the server's SMSAnalysis for the same text.
 */
export function analyze(text) {
  const encoding = canEncodeGSM7(text) ? GSM7 : UCS2;
  const s = split(text, encoding);
  const limit = s.segments.length > 1 ? LIMITS[encoding].concatenated : LIMITS[encoding].single;
  return {
    encoding,
    units: s.units,
    segments: s.segments.length,
    perSegmentLimit: limit,
    remainingInSegment: limit - s.unitsInLastSegment,
    nonGSMCharacters: encoding === GSM7 ? [] : nonGSMCharacters(text),
  };
}

/** Length in characters as the server limits it (Swift's String.count: grapheme clusters). */
export function characterCount(text) {
  return graphemes(text).length;
}

// What Foundation's CharacterSet.whitespacesAndNewlines holds: Unicode Z* plus U+0009–U+000D and U+0085.
const BLANK_EDGES = /^[\p{Z}\t\n\v\f\r\u0085]+|[\p{Z}\t\n\v\f\r\u0085]+$/gu;

/** The text the server sends for what was typed: surrounding blanks and line breaks removed, as it trims them. */
export function textToSend(text) {
  return String(text).replace(BLANK_EDGES, '');
}
