/**
 * A line diff of two texts (Myers' O(ND) algorithm), grouped into hunks with context, to show
 * what changed in a modified text file between a commit and its parent.
 */

export interface IDiffLine {
  kind: ' ' | '+' | '-';
  text: string;
  /** 1-based line numbers in the old and new text (`null` where the line does not exist). */
  oldLine: number | null;
  newLine: number | null;
}

export interface IHunk {
  lines: IDiffLine[];
}

/** Lines of `text` (a final newline does not make an empty last line). */
export function splitLines(text: string): string[] {
  if (text === '') {
    return [];
  }
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}

/** Every line of `a` and `b` as kept (` `), removed (`-`) or added (`+`). */
export function diffLines(a: string[], b: string[]): IDiffLine[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && v[max + k - 1] < v[max + k + 1])) {
        x = v[max + k + 1];
      } else {
        x = v[max + k - 1] + 1;
      }
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[max + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // walk back through the trace
  const out: IDiffLine[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d];
    const k = x - y;
    let prevK: number;
    if (k === -d || (k !== d && vd[max + k - 1] < vd[max + k + 1])) {
      prevK = k + 1;
    } else {
      prevK = k - 1;
    }
    const prevX = vd[max + prevK];
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ kind: ' ', text: a[x - 1], oldLine: x, newLine: y });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) {
        out.push({ kind: '+', text: b[y - 1], oldLine: null, newLine: y });
      } else {
        out.push({ kind: '-', text: a[x - 1], oldLine: x, newLine: null });
      }
    }
    x = prevX;
    y = prevY;
  }
  return out.reverse();
}

/** The changed lines of a diff with `context` unchanged lines around each change. */
export function hunks(lines: IDiffLine[], context = 3): IHunk[] {
  const keep = new Uint8Array(lines.length);
  lines.forEach((line, i) => {
    if (line.kind !== ' ') {
      const end = Math.min(lines.length - 1, i + context);
      for (let j = Math.max(0, i - context); j <= end; j++) {
        keep[j] = 1;
      }
    }
  });
  const out: IHunk[] = [];
  let current: IDiffLine[] | null = null;
  lines.forEach((line, i) => {
    if (!keep[i]) {
      current = null;
      return;
    }
    if (current === null) {
      current = [];
      out.push({ lines: current });
    }
    current.push(line);
  });
  return out;
}
