/** An external-namer setting that cannot be used (a GeoIP file missing or damaged, a bad option): the message says which. */
export class ExternalNamerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExternalNamerError';
  }
}
