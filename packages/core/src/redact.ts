/**
 * Credentials never reach an error or a log: every URL is shown through redactUrl,
 * and free text that may embed one through redactText.
 */
const CREDENTIALS_IN_URL = /([a-z][a-z0-9+.-]*:\/\/)([^@/\s]+)@/gi;

/** `amqp://guest:secret@host/vh` → `amqp://guest:***@host/vh`; tolerates unparsable input. */
export function redactUrl(url: string): string {
  return redactText(url);
}

/** Redact every `scheme://user:pass@` (and `scheme://token@`) inside a text. */
export function redactText(text: string): string {
  return text.replace(CREDENTIALS_IN_URL, (_match, scheme: string, userInfo: string) => {
    const colon = userInfo.indexOf(':');
    return colon === -1 ? `${scheme}***@` : `${scheme}${userInfo.slice(0, colon)}:***@`;
  });
}

/** Redact a list of known secrets (passwords, tokens) wherever they appear in a text. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = redactText(text);
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join('***');
  }
  return out;
}
