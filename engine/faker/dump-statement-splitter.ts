const NORMAL = 0;
const SINGLE = 1;
const DOUBLE = 2;
const BACKTICK = 3;
const LINE_COMMENT = 4;
const BLOCK_COMMENT = 5;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}

/**
 * Cuts the text of a mysqldump file, fed in chunks of any size, into SQL statements, the way the
 * `mysql` client does: `;` (or the `DELIMITER` in force) ends a statement except inside '…', "…"
 * or `…` (backslash escapes and doubled quotes respected); `-- `, `#` and `/* … *\/` comments are
 * dropped; MySQL's executable comments `/*!40101 … *\/` are kept verbatim in the statement text.
 * Only the statement being read is held, so a dump of any size streams through.
 */
export class DumpStatementSplitter {
  private buf = '';
  private parts: string[] = [];
  private state = NORMAL;
  private inExecutable = false;
  private content = false;
  private delimiter = ';';

  /** Feeds the next piece of text; returns the statements it completed. */
  push(text: string): string[] {
    this.buf += text;
    return this.scan(false);
  }

  /** Ends the input; returns the last statements (a final one may lack its `;`). */
  end(): string[] {
    const out = this.scan(true);
    const last = this.parts.join('').trim();
    this.parts = [];
    if (last) out.push(last);
    return out;
  }

  private scan(final: boolean): string[] {
    const out: string[] = [];
    const buf = this.buf;
    const n = buf.length;
    const limit = final ? n : n - 3;
    let i = 0;
    let backslash = -2;
    let seg = this.state === LINE_COMMENT || this.state === BLOCK_COMMENT ? -1 : 0;
    const flush = (to: number) => {
      if (seg >= 0 && to > seg) this.parts.push(buf.slice(seg, to));
    };
    scan: while (i < limit) {
      const c = buf.charCodeAt(i);
      switch (this.state) {
        case SINGLE:
        case DOUBLE: {
          const quote = this.state === SINGLE ? "'" : '"';
          // jump to the next quote or backslash
          const q = buf.indexOf(quote, i);
          // next backslash, searched again only once passed (a dump without escapes would rescan the chunk for each string)
          if (backslash !== -1 && backslash < i) backslash = buf.indexOf('\\', i);
          const b = backslash;
          const next = q < 0 ? b : b < 0 ? q : Math.min(q, b);
          if (next < 0 || next >= limit) {
            i = limit;
            break;
          }
          if (next === b) {
            i = next + 2;
          } else {
            this.state = NORMAL;
            i = next + 1;
          }
          break;
        }
        case BACKTICK:
          if (c === 96) this.state = NORMAL;
          i++;
          break;
        case LINE_COMMENT:
          if (c === 10) {
            this.state = NORMAL;
            seg = i;
          }
          i++;
          break;
        case BLOCK_COMMENT:
          if (c === 42 && buf.charCodeAt(i + 1) === 47) {
            this.state = NORMAL;
            i += 2;
            seg = i;
            this.parts.push(' ');
          } else i++;
          break;
        default: {
          if (!this.content && !this.inExecutable) {
            if (isSpace(c)) {
              i++;
              break;
            }
            if ((c === 68 || c === 100) && /^delimiter[ \t]/i.test(buf.slice(i, i + 10))) {
              const eol = buf.indexOf('\n', i);
              if (eol < 0 && !final) break scan;
              const line = buf.slice(i, eol < 0 ? n : eol);
              const delimiter = line.slice(9).trim();
              if (delimiter) this.delimiter = delimiter;
              flush(i);
              i = eol < 0 ? n : eol + 1;
              seg = i;
              break;
            }
            if (!final && n - i < 10 && (c === 68 || c === 100)) break scan;
          }
          if (c === 39) {
            this.state = SINGLE;
            this.content = true;
            i++;
          } else if (c === 34) {
            this.state = DOUBLE;
            this.content = true;
            i++;
          } else if (c === 96) {
            this.state = BACKTICK;
            this.content = true;
            i++;
          } else if (c === 45 && buf.charCodeAt(i + 1) === 45 && (i + 2 >= n || isSpace(buf.charCodeAt(i + 2)))) {
            flush(i);
            seg = -1;
            this.state = LINE_COMMENT;
            this.parts.push(' ');
            i += 2;
          } else if (c === 35) {
            flush(i);
            seg = -1;
            this.state = LINE_COMMENT;
            this.parts.push(' ');
            i++;
          } else if (c === 47 && buf.charCodeAt(i + 1) === 42 && !this.inExecutable) {
            if (buf.charCodeAt(i + 2) === 33) {
              this.inExecutable = true;
              this.content = true;
              i += 3;
            } else {
              flush(i);
              seg = -1;
              this.state = BLOCK_COMMENT;
              i += 2;
            }
          } else if (c === 42 && buf.charCodeAt(i + 1) === 47 && this.inExecutable) {
            this.inExecutable = false;
            i += 2;
          } else if (!this.inExecutable && c === this.delimiter.charCodeAt(0) && buf.startsWith(this.delimiter, i)) {
            flush(i);
            const text = this.parts.join('').trim();
            this.parts = [];
            if (text) out.push(text);
            this.content = false;
            i += this.delimiter.length;
            seg = i;
          } else {
            if (!isSpace(c)) this.content = true;
            i++;
          }
        }
      }
    }
    if (i > n) i = n;
    flush(i);
    this.buf = buf.slice(i);
    return out;
  }
}
