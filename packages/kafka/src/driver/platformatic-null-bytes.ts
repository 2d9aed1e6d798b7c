import { Reader, Writer } from '@platformatic/kafka';

const FIXED = Symbol.for('omnibus.kafka.platformatic.null-bytes');

/**
 * @platformatic/kafka 1.22 loses the difference between a null and an empty key (and header
 * value) of a record: it writes a null one with length 0 (the protocol says -1), and reads a
 * length of -1 as an empty buffer. A keyless message would go out with the key "" (one key for
 * all of them: one partition, and the transport delivers one key in order) and a keyless record
 * of another producer would come in with the key "". Later releases write and read -1; only
 * the record codec uses these two methods, so they are made to do the same, once per process.
 */
export function fixNullRecordBytes(): void {
  const writer = Writer.prototype as Writer & { [FIXED]?: true };
  if (writer[FIXED]) return;
  writer[FIXED] = true;
  // The originals, called with .call(this) below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const append = Writer.prototype.appendVarIntBytes;
  Writer.prototype.appendVarIntBytes = function appendVarIntBytes(this: Writer, value: Buffer | null | undefined) {
    return value === null || value === undefined ? this.appendVarInt(-1) : append.call(this, value);
  };
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const read = Reader.prototype.readVarIntBytes;
  Reader.prototype.readVarIntBytes = function readVarIntBytes(this: Reader) {
    const start = this.position;
    if (this.readVarInt() === -1) return null as unknown as Buffer;
    this.position = start;
    return read.call(this);
  };
}
