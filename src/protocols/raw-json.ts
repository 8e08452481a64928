/**
 * A value already encoded as JSON text in its wire form, which an encoder puts into the answer as
 * it is (say, a page of events encoded on the thread that read them).
 */
export class RawJson {
  constructor(readonly json: string) {}
}
