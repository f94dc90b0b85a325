import * as backend from '@ragan/backend';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, ConfigError, RaganError, ShapeError } from './index.js';

describe('the errors initBackend throws (from @ragan/backend)', () => {
  it('are RaganErrors by marker and code, and BackendUnavailableError is the same class from either package', () => {
    expect(BackendUnavailableError).toBe(backend.BackendUnavailableError);
    const e = new BackendUnavailableError('tensorflow', "Backend 'tensorflow' is not available.", 'pnpm add @tensorflow/tfjs-node');
    expect(RaganError.isInstance(e)).toBe(true);
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toBe("Backend 'tensorflow' is not available. pnpm add @tensorflow/tfjs-node");
  });

  it("an unknown backend name is an instance of core's ConfigError, with its field and code", () => {
    const e = new backend.ConfigError('RAGAN_BACKEND', "unknown backend 'x'");
    expect(e).toBeInstanceOf(ConfigError);
    expect(RaganError.isInstance(e)).toBe(true);
    expect(e).toMatchObject({ field: 'RAGAN_BACKEND', code: 'CONFIG_ERROR', message: "RAGAN_BACKEND: unknown backend 'x'" });
    expect(new ConfigError('a', 'b')).toBeInstanceOf(ConfigError);
    expect(new RaganError('x')).not.toBeInstanceOf(ConfigError);
    expect(new Error('x')).not.toBeInstanceOf(ConfigError);
  });

  it("core's errors and backend's share one base (MarkedError): its marker, code and isInstance", () => {
    const e = new ShapeError('bad shape');
    expect(e).toBeInstanceOf(backend.MarkedError);
    expect(e).toBeInstanceOf(RaganError);
    expect(backend.MarkedError.isInstance(e)).toBe(true);
    expect(backend.BackendError.isInstance(e)).toBe(true);
    expect(e).toMatchObject({ name: 'ShapeError', code: 'SHAPE_ERROR', message: 'bad shape' });
    expect(new RaganError('x').code).toBe('RAGAN_ERROR');
    // an error from another installed copy carries only the marker: still recognised; a plain Error is not
    expect(RaganError.isInstance({ [Symbol.for('ragan.error')]: true })).toBe(true);
    expect(RaganError.isInstance(new Error('x'))).toBe(false);
    expect(RaganError.isInstance(null)).toBe(false);
  });
});
