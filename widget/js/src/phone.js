// The phone number field: a country list and a number formatted as it is
// typed, by libphonenumber-js (its "min" metadata: the formats and lengths
// of every country's numbers, not their full patterns).

import { AsYouType, getCountries, getCountryCallingCode, parsePhoneNumberFromString } from "libphonenumber-js/min";

// countryOptions returns [{code, name, calling}] for every country, named
// in lang and sorted by name.
export function countryOptions(lang) {
  let names = null;
  try {
    names = new Intl.DisplayNames([lang], { type: "region" });
  } catch (e) {
    names = null;
  }
  const out = getCountries().map((code) => {
    let name = code;
    try {
      name = (names && names.of(code)) || code;
    } catch (e) {
      name = code;
    }
    return { code, name, calling: getCountryCallingCode(code) };
  });
  const collator = new Intl.Collator(lang);
  out.sort((a, b) => collator.compare(a.name, b.name));
  return out;
}

// guessCountry returns the country of the first region-bearing tag in
// tags (navigator.languages), if libphonenumber knows it, else fallback.
export function guessCountry(tags, fallback) {
  const known = new Set(getCountries());
  for (const tag of tags) {
    const m = /^[a-z]{2,3}-([A-Za-z]{2})\b/.exec(tag || "");
    if (m && known.has(m[1].toUpperCase())) return m[1].toUpperCase();
  }
  return known.has(fallback) ? fallback : "US";
}

// formatAsTyped returns text formatted as a number of country, and the
// country the number turned out to be of when typed with "+".
export function formatAsTyped(text, country) {
  const international = text.trim().startsWith("+");
  const typer = new AsYouType(international ? undefined : country);
  const formatted = typer.input(text);
  return { formatted, country: international ? typer.getCountry() : undefined };
}

// parse returns the number typed in text for country as {e164, display},
// or null when it is not a valid number.
export function parse(text, country) {
  const n = parsePhoneNumberFromString(text, text.trim().startsWith("+") ? undefined : country);
  if (!n || !n.isValid()) return null;
  return { e164: n.number, display: n.formatInternational() };
}

// display returns an E.164 number written as people read it, or the
// number as it is.
export function display(e164) {
  const n = parsePhoneNumberFromString(e164 || "");
  return n ? n.formatInternational() : e164;
}
