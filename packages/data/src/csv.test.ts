import { describe, expect, it } from 'vitest';
import { csvRecords, CsvSyntaxError, parseCsv } from './csv.js';

describe('parseCsv', () => {
  it('reads quoted fields with commas, "" escapes and newlines; CRLF; a BOM; skips blank lines; keeps line numbers', () => {
    const text = '\ufeffpath,age\r\n"a, b.jpg",30\r\n\r\n"say ""hi"".jpg",4\n"two\nlines.jpg",5\nlast.jpg,';
    const rows = parseCsv(text);
    expect(rows.map((r) => r.fields)).toEqual([
      ['path', 'age'],
      ['a, b.jpg', '30'],
      ['say "hi".jpg', '4'],
      ['two\nlines.jpg', '5'],
      ['last.jpg', ''],
    ]);
    expect(rows.map((r) => r.line)).toEqual([1, 2, 4, 5, 7]);
    const { header, records } = csvRecords(rows);
    expect(header).toEqual(['path', 'age']);
    expect(records[0]).toEqual({ line: 2, values: { path: 'a, b.jpg', age: '30' } });
  });

  it('reports an unterminated quote with its line', () => {
    expect(() => parseCsv('path\n"open.jpg\n')).toThrow(CsvSyntaxError);
    expect(() => parseCsv('path\n"open.jpg\n')).toThrow(/line 2: unterminated quoted field/);
  });
});
