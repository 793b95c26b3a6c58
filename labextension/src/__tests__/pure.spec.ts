import { formatDuration, formatSize, relativeTime, shortId } from '../format';
import { canOpen, fileKind, filePath, notebookPath, parseDrivePath } from '../model/paths';
import { Refresher } from '../model/refresher';
import { diffLines, hunks, splitLines } from '../model/textdiff';
import { apiPath, query } from '../url';

describe('drive paths', () => {
  it('round-trips file and notebook paths', () => {
    expect(filePath('model', 'abc123', '/dir/a.csv')).toBe('pipes:model@abc123/dir/a.csv');
    expect(filePath('model', 'master', '/')).toBe('pipes:model@master');
    expect(parseDrivePath('model@abc123/dir/a.csv')).toEqual({ kind: 'file', repo: 'model', ref: 'abc123', path: '/dir/a.csv' });
    expect(parseDrivePath('model@master~2')).toEqual({ kind: 'file', repo: 'model', ref: 'master~2', path: '/' });
    expect(notebookPath('j1', '0123456789ab', 'predict')).toBe('pipes:jobs/j1/0123456789ab/predict-01234567.ipynb');
    expect(parseDrivePath('jobs/j1/0123456789ab/predict-01234567.ipynb')).toEqual({ kind: 'notebook', job: 'j1', datum: '0123456789ab' });
    expect(parseDrivePath('jobs/j1/d1.ipynb').kind).toBe('invalid');
    expect(parseDrivePath('')).toEqual({ kind: 'root' });
    expect(parseDrivePath('nonsense/x').kind).toBe('invalid');
    expect(parseDrivePath('@x').kind).toBe('invalid');
  });

  it('knows which viewer a file needs', () => {
    expect(fileKind('/a/b.ipynb').kind).toBe('notebook');
    expect(fileKind('/plot.PNG')).toEqual({ kind: 'image', mimetype: 'image/png' });
    expect(fileKind('/x.csv')).toEqual({ kind: 'text', mimetype: 'text/csv' });
    expect(canOpen('/model.pkl')).toBe(false);
  });
});

describe('text diff', () => {
  it('finds the smallest edit', () => {
    const lines = diffLines(['a', 'b', 'c', 'd'], ['a', 'x', 'c', 'd', 'e']);
    expect(lines.map(l => l.kind + l.text)).toEqual([' a', '-b', '+x', ' c', ' d', '+e']);
    expect(diffLines([], ['a']).map(l => l.kind)).toEqual(['+']);
    expect(diffLines(['a'], []).map(l => l.kind)).toEqual(['-']);
    expect(diffLines(['a'], ['a']).map(l => l.kind)).toEqual([' ']);
  });

  it('groups changes into hunks with context', () => {
    const a = Array.from({ length: 30 }, (_, i) => `l${i}`);
    const b = [...a];
    b[2] = 'changed';
    b[25] = 'also';
    const hs = hunks(diffLines(a, b), 2);
    expect(hs).toHaveLength(2);
    expect(hs[0].lines.map(l => l.kind + l.text)).toEqual([' l0', ' l1', '-l2', '+changed', ' l3', ' l4']);
    expect(hs[1].lines[0]).toMatchObject({ text: 'l23', oldLine: 24, newLine: 24 });
  });

  it('splits lines of any ending', () => {
    expect(splitLines('a\r\nb\nc\n')).toEqual(['a', 'b', 'c']);
    expect(splitLines('')).toEqual([]);
  });
});

describe('formatting and urls', () => {
  it('formats sizes, times and durations', () => {
    // pachctl's format, the same as the CLI and the %pipe magics (jupyter_pipes.cli.render)
    expect(formatSize(1536)).toBe('1.5KiB');
    expect(formatSize(3)).toBe('3B');
    expect(formatSize(1024)).toBe('1KiB');
    expect(formatSize(1234)).toBe('1.205KiB');
    expect(formatSize(2000)).toBe('1.953KiB');
    expect(formatSize(1000)).toBe('1000B');
    expect(formatSize(5 * 1024 * 1024 + 1)).toBe('5MiB');
    const now = Date.parse('2024-01-02T00:00:00Z');
    expect(relativeTime('2024-01-01T23:59:50Z', now)).toBe('just now');
    expect(relativeTime('2024-01-01T23:50:00Z', now)).toBe('10 min ago');
    expect(relativeTime('2024-01-01T21:00:00Z', now)).toBe('3 h ago');
    expect(formatDuration(0.25)).toBe('250 ms');
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(shortId('0123456789')).toBe('01234567');
  });

  it('encodes path segments and query arguments', () => {
    expect(apiPath('repos', 'model', 'commits', 'master^2')).toBe('repos/model/commits/master%5E2');
    expect(query({ branch: 'master', limit: 20, offset: 0, old: null, path: '/a b' })).toBe(
      '?branch=master&limit=20&offset=0&path=%2Fa%20b'
    );
    expect(query({})).toBe('');
  });
});

describe('Refresher', () => {
  it('runs once more after a running refresh, however many requests came', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const r = new Refresher(async () => {
      runs += 1;
      if (runs === 1) {
        await new Promise<void>(resolve => (release = resolve));
      }
    });
    const first = r.request();
    const rest = [r.request(), r.request(), r.request()];
    release();
    await Promise.all([first, ...rest]);
    expect(runs).toBe(2);
  });
});
