import countries from 'i18n-iso-countries';

/*
 * ISO 3166-1 countries, from the i18n-iso-countries package (its English names and official codes): Partner Center
 * takes a customer's country as an alpha-2 code ("Create a referral": customerProfile.address.country), while a CRM
 * may hold a code, a name ("United States") or a row of a country table.
 */

const ALPHA2 = /^[A-Za-z]{2}$/;
const ALPHA3 = /^[A-Za-z]{3}$/;

/** An assigned ISO 3166-1 alpha-2 code (any case). */
export function isAlpha2(code: string): boolean {
  return ALPHA2.test(code) && countries.isValid(code.toUpperCase());
}

/**
 * The alpha-2 code of a country written as an alpha-2 or alpha-3 code or an English name, short or official ("United
 * States", "United States of America", "Vietnam"); undefined when ISO 3166 knows no such country.
 */
export function alpha2Of(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (isAlpha2(trimmed)) return trimmed.toUpperCase();
  if (ALPHA3.test(trimmed)) {
    const code = countries.alpha3ToAlpha2(trimmed.toUpperCase());
    if (code) return code;
  }
  // The simple match ignores case and diacritics ("Cote d'Ivoire" for "Côte d'Ivoire").
  return countries.getAlpha2Code(trimmed, 'en') ?? countries.getSimpleAlpha2Code(trimmed, 'en');
}

/** The English (official) name of an alpha-2 code, as a CRM's country name column shows it. */
export function countryNameOf(code: string): string | undefined {
  return isAlpha2(code) ? countries.getName(code.toUpperCase(), 'en', { select: 'official' }) : undefined;
}
