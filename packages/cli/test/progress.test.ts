import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressBar, fmtTime } from '../src/progress.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    }),
    { isTTY, columns: 100 },
  );
  return { stream, text: () => chunks.join('') };
}

describe('progress bar', () => {
  it('off a terminal: one plain line per 10 % and a final line, no carriage returns', () => {
    const s = sink(false);
    const bar = createProgressBar({ total: 100, label: 'prepare', stream: s.stream, unit: 'img' });
    for (let i = 1; i <= 100; i++) bar.update(i, `kept ${i}`);
    bar.finish('done');
    const lines = s.text().trimEnd().split('\n');
    expect(lines.length).toBe(10);
    expect(lines[0]).toMatch(/^prepare 10\/100 10% .* img\/s/);
    expect(lines.at(-1)).toMatch(/^prepare 100\/100 100% .*done$/);
    expect(s.text()).not.toContain('\r');
  });

  it('on a terminal: redraws one line with a bar', () => {
    const s = sink(true);
    const bar = createProgressBar({ total: 4, stream: s.stream });
    bar.update(4);
    bar.finish();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the bar redraws with an ANSI escape
    expect(s.text()).toMatch(/\r\x1b\[2K\[#+\] 4\/4 100%/);
    expect(s.text().endsWith('\n')).toBe(true);
  });
});

describe('fmtTime', () => {
  it('rounds up before splitting into minutes, so 179.6 s is 3m00s, not 2m60s', () => {
    expect(fmtTime(179.6)).toBe('3m00s');
    expect(fmtTime(59.2)).toBe('1m00s');
    expect(fmtTime(42.1)).toBe('43s');
    expect(fmtTime(3 * 3600 + 5 * 60 + 1)).toBe('3h05m');
  });
});
