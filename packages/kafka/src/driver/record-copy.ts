/** The value of a record without one (a tombstone): shared, never written to. */
export const EMPTY = new Uint8Array(0);

/** Values up to this size are copied into a shared slab; larger ones get their own buffer. */
const SLAB_VALUE_MAX = 2_048;
const SLAB_BYTES = 8_192;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

/**
 * A private copy of a record value: both clients hand out views of the whole fetch response,
 * which a retained body would keep alive. Small values are copied into an 8 KiB slab (as
 * Node's own Buffer pool does: one allocation per few messages instead of one per message),
 * so a retained body keeps at most 8 KiB alive; larger values are copied alone.
 */
export function copyOf(value: Uint8Array): Uint8Array {
  const size = value.byteLength;
  if (size > SLAB_VALUE_MAX) return new Uint8Array(value);
  if (slabUsed + size > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const copy = new Uint8Array(slab, slabUsed, size);
  copy.set(value);
  // 8-byte aligned, like Node's pool.
  slabUsed += (size + 7) & ~7;
  return copy;
}
