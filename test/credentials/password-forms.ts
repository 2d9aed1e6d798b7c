// The hostile passwords of the credentials test, and every form in which one of them could be
// printed: as written into the URL, as meant, percent-decoded, percent-encoded, as the WHATWG URL
// parser would normalise it, and JSON-escaped (a log line is usually JSON).
import { randomBytes } from 'node:crypto';

/** A password as a user writes it into a URL: unencoded (`raw`) or percent-encoded (`encoded`). */
export interface WrittenPassword {
  /** What the user means the password to be. */
  readonly password: string;
  readonly written: 'raw' | 'encoded';
  /** The text between `user:` and the host's `@` in the URL. */
  readonly inUrl: string;
}

// `/ @ : ? # % space`, unicode, percent signs that are and are not valid encodings, and one long
// random password (base64: `/`, `+` and `=` included) printed with the case so a failure is reproducible.
export const HOSTILE_PASSWORDS: readonly string[] = [
  'p/ss',
  'p@ss@',
  'p:ss',
  'p?ss#x',
  'p%zz',
  'p%2Fss',
  'pa ss',
  'pässwörd✓',
  `${randomBytes(24).toString('base64')}/@:?#% ü`,
];

export function writtenForms(password: string): WrittenPassword[] {
  return [
    { password, written: 'raw', inUrl: password },
    { password, written: 'encoded', inUrl: encodeURIComponent(password) },
  ];
}

const decodeOrUndefined = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
};

/** How the WHATWG URL parser stores `text` as a password (its userinfo percent-encode set). */
const whatwgPassword = (text: string): string => {
  const url = new URL('http://host');
  url.password = text;
  return url.password;
};

/** Every form of the password that must never be printed (3 characters or more each). */
export function forbiddenForms({ password, inUrl }: WrittenPassword): string[] {
  const forms = new Set<string>();
  for (const text of [password, inUrl, decodeOrUndefined(inUrl)]) {
    if (text === undefined) continue;
    forms.add(text);
    forms.add(encodeURIComponent(text));
    forms.add(whatwgPassword(text));
  }
  for (const form of [...forms]) forms.add(JSON.stringify(form).slice(1, -1));
  return [...forms].filter((form) => form.length >= 3);
}
