/**
 * The transport's configuration errors: thrown only while setting up (a bad hub URL or agent id, a
 * spool that cannot be used), with a message that says what to change. Once running, problems are
 * values: counters and `lastError` in HubClient.status(), close codes and reasons on the wire.
 */
export class TransportConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportConfigError';
  }
}

/** The spool directory cannot be used (not creatable, or locked by another live agent). */
export class SpoolError extends TransportConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'SpoolError';
  }
}
