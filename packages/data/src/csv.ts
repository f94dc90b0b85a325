/**
 * A small RFC 4180 CSV parser: quoted fields with "" escapes and embedded newlines, CRLF or LF line
 * ends, a UTF-8 byte-order mark. Enough for label files and manifests without a dependency; rows keep
 * their 1-based line number so that a skipped row can be reported as `file:line`.
 */
export interface CsvRow {
  /** 1-based line number where the row starts. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'CsvSyntaxError';
  }
}

export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let fields: string[] = [];
  let field = '';
  let rowLine = 1;
  let quotedField = false;
  const endField = () => {
    fields.push(field);
    field = '';
    quotedField = false;
  };
  const endRow = () => {
    endField();
    // blank lines (a single empty unquoted field) are not rows
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: rowLine, fields });
    fields = [];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === '' && !quotedField) {
      // quoted field: read to the closing quote
      const start = line;
      i++;
      for (;;) {
        if (i >= text.length) throw new CsvSyntaxError(start, 'unterminated quoted field');
        const d = text[i]!;
        if (d === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === '\n') line++;
        field += d;
        i++;
      }
      quotedField = true;
      const after = text[i];
      if (after !== undefined && after !== ',' && after !== '\n' && after !== '\r') {
        throw new CsvSyntaxError(line, 'unexpected text after a closing quote');
      }
      continue;
    }
    if (c === ',') {
      endField();
      i++;
    } else if (c === '\r' || c === '\n') {
      endRow();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      rowLine = line;
    } else {
      field += c;
      i++;
    }
  }
  if (field !== '' || fields.length > 0 || quotedField) endRow();
  return rows;
}

/** Rows as records keyed by the (trimmed) header names of the first row. */
export function csvRecords(rows: CsvRow[]): { header: string[]; records: Array<{ line: number; values: Record<string, string> }> } {
  const [head, ...rest] = rows;
  const header = (head?.fields ?? []).map((h) => h.trim());
  return {
    header,
    records: rest.map((r) => ({
      line: r.line,
      values: Object.fromEntries(header.map((h, k) => [h, (r.fields[k] ?? '').trim()])),
    })),
  };
}
