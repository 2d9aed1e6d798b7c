/**
 * A percent-encoded part of a broker URL (user name, password, vhost) as the user meant it: decoded
 * when the whole part is valid percent-encoding, else exactly as written (`50%off` stays
 * `50%off`; decoding only some runs would make up a credential nobody typed).
 */
export function decodeUrlPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
