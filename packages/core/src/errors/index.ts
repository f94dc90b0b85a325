/**
 * One error hierarchy for every RAGAN.ts package. Messages say what happened and how to fix it;
 * the CLI prints a RaganError as one line and exits non-zero.
 */

import { ConfigError as BackendConfigError, MarkedError } from '@ragan/backend';

export type RaganErrorCode = 'RAGAN_ERROR' | 'CONFIG_ERROR' | 'DATASET_ERROR' | 'CHECKPOINT_ERROR' | 'MODEL_LOAD_ERROR' | 'BACKEND_UNAVAILABLE' | 'SHAPE_ERROR';

export interface RaganErrorOptions {
  cause?: unknown;
}

/** The base of this package's errors; it shares its marker and `code` with @ragan/backend's (`MarkedError`). */
export class RaganError extends MarkedError<RaganErrorCode> {
  constructor(message: string, code: RaganErrorCode = 'RAGAN_ERROR', options: RaganErrorOptions = {}) {
    super(message, code, options);
    this.name = 'RaganError';
  }

  /** True for a RaganError from any copy of this package, or an error of @ragan/backend (they share the marker). */
  static override isInstance(e: unknown): e is RaganError {
    return MarkedError.isInstance(e);
  }
}

/** A configuration value is invalid; `field` is its dotted path, e.g. `generator.c0`. */
export class ConfigError extends RaganError {
  readonly field: string;
  constructor(field: string, message: string, options: RaganErrorOptions = {}) {
    super(`${field}: ${message}`, 'CONFIG_ERROR', options);
    this.name = 'ConfigError';
    this.field = field;
  }

  /**
   * `e instanceof ConfigError` is also true for the ConfigError of @ragan/backend (an unknown backend
   * name in `initBackend`), as it was when that code lived in this package. (No class extends ConfigError.)
   */
  static override [Symbol.hasInstance](e: unknown): boolean {
    return Object.prototype.isPrototypeOf.call(ConfigError.prototype, e as object) || e instanceof BackendConfigError;
  }
}

/** A dataset file or folder could not be used; `path` names it. */
export class DatasetError extends RaganError {
  readonly path: string;
  constructor(path: string, message: string, options: RaganErrorOptions = {}) {
    super(`${path}: ${message}`, 'DATASET_ERROR', options);
    this.name = 'DatasetError';
    this.path = path;
  }
}

/** A checkpoint could not be written or read. */
export class CheckpointError extends RaganError {
  readonly path: string | undefined;
  constructor(message: string, options: RaganErrorOptions & { path?: string } = {}) {
    super(options.path ? `${options.path}: ${message}` : message, 'CHECKPOINT_ERROR', options);
    this.name = 'CheckpointError';
    this.path = options.path;
  }
}

/** A model folder (manifest + weights) was refused: traversal, size, checksum, version, shape. */
export class ModelLoadError extends RaganError {
  readonly location: string;
  constructor(location: string, message: string, options: RaganErrorOptions = {}) {
    super(`${location}: ${message}`, 'MODEL_LOAD_ERROR', options);
    this.name = 'ModelLoadError';
    this.location = location;
  }
}

/**
 * A requested backend cannot be used here; `installHint` says what to install. `initBackend` throws it,
 * from @ragan/backend: it has RaganError's marker and code (`RaganError.isInstance` is true), not its class.
 */
export { BackendUnavailableError } from '@ragan/backend';

/** A tensor argument has the wrong shape; raised before tfjs would fail deep inside a kernel. */
export class ShapeError extends RaganError {
  constructor(message: string, options: RaganErrorOptions = {}) {
    super(message, 'SHAPE_ERROR', options);
    this.name = 'ShapeError';
  }
}
