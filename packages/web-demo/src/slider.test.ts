import { describe, expect, it } from 'vitest';
import { describeAge } from './slider.js';

describe('describeAge', () => {
  it('names the blended neighbouring groups with weights', () => {
    expect(describeAge(34.5)).toBe('34.5 (30-39)');
    expect(describeAge(39.5)).toBe('39.5 (30-39 50 %, 40-49 50 %)');
    expect(describeAge(0)).toBe('0 (0-2)');
    expect(describeAge(95)).toBe('95 (70+)');
  });
});
