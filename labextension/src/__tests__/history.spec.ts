import { HistoryModel } from '../model/history';
import { requestAPI, requestBytes } from '../request';
import { args, commit, paginate, router } from './helpers';

jest.mock('../request', () => ({ requestAPI: jest.fn(), requestBytes: jest.fn() }));
const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const bytes = requestBytes as jest.MockedFunction<typeof requestBytes>;

/** 45 commits, newest first, as the server lists a branch. */
const ALL = Array.from({ length: 45 }, (_, i) => commit(`c${44 - i}`));

describe('HistoryModel', () => {
  beforeEach(() => {
    api.mockReset();
    bytes.mockReset();
  });

  it('loads a branch page by page, newest first, until the last page', async () => {
    const r = router([['repos/model/commits', paginate(ALL)]]);
    api.mockImplementation(r.impl);
    const h = new HistoryModel(20);
    await h.show('model', 'master');
    expect(h.commits.map(c => c.id).slice(0, 3)).toEqual(['c44', 'c43', 'c42']);
    expect(h.commits).toHaveLength(20);
    expect(h.hasMore).toBe(true);
    expect(args(r.calls[0].endPoint)).toEqual({ branch: 'master', limit: '20', offset: '0' });
    await h.loadMore();
    await h.loadMore();
    expect(h.commits).toHaveLength(45);
    expect(h.commits[44].id).toBe('c0');
    expect(h.hasMore).toBe(false);
    expect(r.calls.map(c => args(c.endPoint).offset)).toEqual(['0', '20', '40']);
    await h.loadMore(); // nothing more to load: no request
    expect(r.calls).toHaveLength(3);
    expect(h.loading).toBe(false);
  });

  it('refresh reloads as many commits as are shown, so a new head appears on top', async () => {
    let all = ALL;
    const r = router([['repos/model/commits', (e: string) => paginate(all)(e, {})]]);
    api.mockImplementation(r.impl);
    const h = new HistoryModel(20);
    await h.show('model', 'master');
    await h.loadMore();
    all = [commit('new', { origin: 'revert' }), ...ALL];
    await h.refresh();
    expect(h.commits[0].id).toBe('new');
    expect(h.commits).toHaveLength(40);
    expect(args(r.calls[2].endPoint)).toMatchObject({ limit: '40', offset: '0' });
    expect(h.hasMore).toBe(true);
  });

  it('coalesces a burst of refreshes into at most two requests', async () => {
    const r = router([['repos/model/commits', paginate(ALL)]]);
    api.mockImplementation(r.impl);
    const h = new HistoryModel(20);
    await h.show('model', 'master');
    await Promise.all([h.refresh(), h.refresh(), h.refresh(), h.refresh()]);
    expect(r.calls).toHaveLength(3);
  });

  it('ignores a page that arrives after the user moved to another branch', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>(resolve => (release = resolve));
    api.mockImplementation(async (endPoint = '') => {
      if (endPoint.startsWith('repos/slow/')) {
        await slow;
        return paginate([commit('old', { repo: 'slow' })])(endPoint, {});
      }
      return paginate([commit('fast', { repo: 'fast' })])(endPoint, {});
    });
    const h = new HistoryModel();
    const first = h.show('slow', 'master');
    await h.show('fast', 'master');
    release();
    await first;
    expect(h.repo).toBe('fast');
    expect(h.commits.map(c => c.id)).toEqual(['fast']);
  });

  it('selecting a commit loads its lineage, files and diff; a text diff on demand', async () => {
    const detail = {
      ...commit('c2', { parent: 'c1', provenance: [{ repo: 'training', id: 't1', branch: 'master' }] }),
      subvenance: []
    };
    const entry = {
      path: '/a.csv',
      change: 'modified' as const,
      old: { path: '/a.csv', type: 'file' as const, size_bytes: 4, hash: 'h1', commit: 'c1' },
      new: { path: '/a.csv', type: 'file' as const, size_bytes: 6, hash: 'h2', commit: 'c2' }
    };
    const r = router([
      ['repos/model/commits/c2', detail],
      ['repos/model/commits/c2/files', { items: [entry.new] }],
      ['repos/model/commits/c2/diff', { items: [entry] }]
    ]);
    api.mockImplementation(r.impl);
    const enc = new TextEncoder();
    bytes.mockImplementation(async (endPoint: string) =>
      (endPoint.includes('/c1/') ? enc.encode('a\nb\n') : enc.encode('a\nB\nc\n')).buffer as ArrayBuffer
    );
    const h = new HistoryModel();
    await h.select('model', 'c2');
    expect(h.selection?.commit.provenance).toEqual([{ repo: 'training', id: 't1', branch: 'master' }]);
    expect(h.selection?.files?.map(f => f.path)).toEqual(['/a.csv']);
    expect(h.selection?.diff?.[0].change).toBe('modified');
    expect(args(r.calls[1].endPoint)).toEqual({ path: '/', recursive: '1' });
    await h.loadFileDiff(entry);
    const diff = h.fileDiff('/a.csv');
    expect(diff).toMatchObject({ state: 'ready', added: 2, removed: 1 });
    expect(bytes.mock.calls.map(c => c[0])).toEqual([
      'repos/model/commits/c1/raw?path=%2Fa.csv',
      'repos/model/commits/c2/raw?path=%2Fa.csv'
    ]);
  });

  it('reports an error instead of throwing', async () => {
    api.mockRejectedValue(new Error('boom'));
    const h = new HistoryModel();
    await h.show('model', 'master');
    expect(h.error).toContain('boom');
    expect(h.commits).toEqual([]);
  });
});
