/** A message body as a person or `jq` can read it: JSON when it is JSON, else text, else base64. */
export type ShownBody = { readonly json: unknown } | { readonly text: string } | { readonly base64: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function showBody(body: Uint8Array, contentType: string | undefined): ShownBody {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { base64: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64') };
  }
  if (contentType === undefined || /json/i.test(contentType)) {
    try {
      return { json: JSON.parse(text) as unknown };
    } catch {
      // not JSON after all: shown as text
    }
  }
  return { text };
}

/** The body on one line for the readable form. */
export function bodyLine(shown: ShownBody): string {
  if ('json' in shown) return JSON.stringify(shown.json);
  if ('text' in shown) return JSON.stringify(shown.text);
  return `base64:${shown.base64}`;
}
