/**
 * The two errors `initBackend` throws, and the base they share with `@ragan/core`'s errors. They carry
 * RAGAN.ts's error marker (`Symbol.for('ragan.error')`) and a `code`, so `RaganError.isInstance` in
 * `@ragan/core` (and the `ragan` command's one-line error printing) recognises them.
 */

const MARKER = Symbol.for('ragan.error');

export type BackendErrorCode = 'CONFIG_ERROR' | 'BACKEND_UNAVAILABLE';

export interface BackendErrorOptions {
  cause?: unknown;
}

/**
 * The base of every RAGAN.ts error class, this package's and `@ragan/core`'s (which extends it): a message
 * that says what to do, a `code`, and the shared marker, so that `isInstance` recognises an error from
 * any installed copy of either package (where `instanceof` would not).
 */
export class MarkedError<C extends string = string> extends Error {
  readonly code: C;
  readonly [MARKER] = true;

  constructor(message: string, code: C, options: BackendErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MarkedError';
    this.code = code;
  }

  /** True for an error of this package or of `@ragan/core` (any copy of either: they share the marker). */
  static isInstance(e: unknown): e is MarkedError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** Base of this package's errors. */
export class BackendError extends MarkedError<BackendErrorCode> {
  constructor(message: string, code: BackendErrorCode, options: BackendErrorOptions = {}) {
    super(message, code, options);
    this.name = 'BackendError';
  }

  /** True for an error of this package or of `@ragan/core` (any copy of either: they share the marker). */
  static override isInstance(e: unknown): e is BackendError {
    return MarkedError.isInstance(e);
  }
}

/** An option or `RAGAN_BACKEND` value is invalid; `field` names it. */
export class ConfigError extends BackendError {
  readonly field: string;
  constructor(field: string, message: string, options: BackendErrorOptions = {}) {
    super(`${field}: ${message}`, 'CONFIG_ERROR', options);
    this.name = 'ConfigError';
    this.field = field;
  }
}

/** A requested backend cannot be used here; `installHint` says what to install. */
export class BackendUnavailableError extends BackendError {
  readonly backend: string;
  readonly installHint: string;
  constructor(backend: string, message: string, installHint: string, options: BackendErrorOptions = {}) {
    super(`${message}${installHint ? ` ${installHint}` : ''}`, 'BACKEND_UNAVAILABLE', options);
    this.name = 'BackendUnavailableError';
    this.backend = backend;
    this.installHint = installHint;
  }
}
