/**
 * A value already encoded as JSON text in its wire form, which an encoder puts into the answer as
 * it is (say, a page of events encoded on the thread that read them).
 */
export class RawJson {
  /**
   * `json`: the text, or its UTF-8 bytes; `release`: to be called once the bytes are no longer
   * needed (they have been written to the socket), so that their buffer can be written again.
   */
  constructor(
    readonly json: string | Uint8Array,
    readonly release?: () => void,
  ) {}

  /** The value as text. */
  get text(): string {
    const j = this.json;
    return typeof j === 'string' ? j : utf8Text(j);
  }
}

/** UTF-8 bytes as text (without copying them into a Buffer first). */
export function utf8Text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
