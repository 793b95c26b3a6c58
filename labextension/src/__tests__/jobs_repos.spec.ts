import { ALL_PIPELINES, JobsModel, progress } from '../model/jobs';
import { defaultBranch, ReposModel, uploadMessage } from '../model/repos';
import { requestAPI, requestBytes } from '../request';
import { args, commit, job, paginate, router, settle } from './helpers';

jest.mock('../request', () => ({ requestAPI: jest.fn(), requestBytes: jest.fn() }));
const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const bytes = requestBytes as jest.MockedFunction<typeof requestBytes>;

describe('JobsModel', () => {
  beforeEach(() => {
    api.mockReset();
    bytes.mockReset();
  });

  it('lists a pipeline’s jobs, follows the selected job live and reloads its datums', async () => {
    const datums = { items: [{ id: 'd1' }], offset: 0, limit: 50, next_offset: null };
    const r = router([
      ['jobs', paginate([job('j2'), job('j1', { state: 'success' })])],
      ['jobs/j2/datums', datums]
    ]);
    api.mockImplementation(r.impl);
    const m = new JobsModel();
    await m.show('predict');
    expect(args(r.calls[0].endPoint)).toMatchObject({ pipeline: 'predict' });
    await m.select('j2');
    expect(m.job?.id).toBe('j2');
    expect(m.datums).toHaveLength(1);
    const datumCalls = () => r.calls.filter(c => c.endPoint.startsWith('jobs/j2/datums')).length;
    expect(datumCalls()).toBe(1);
    m.applyJob(job('j2', { processed: 2 }));
    await settle();
    expect(m.job?.processed).toBe(2);
    expect(m.jobs[0].processed).toBe(2);
    expect(datumCalls()).toBe(2);
    m.applyJob(job('other', { pipeline: 'model' })); // another pipeline's job: ignored
    expect(m.jobs.map(j => j.id)).toEqual(['j2', 'j1']);
    await m.select(null); // no running job selected: its datums are no longer read again
  });

  it('stops a job with a POST to its stop route, answers the jobs stopped and reloads', async () => {
    let stopped = false;
    const r = router([
      [
        'jobs/j2/stop',
        (_e: string, init: RequestInit) => {
          expect(init.method).toBe('POST');
          stopped = true;
          return { items: [job('j2', { state: 'killed' }), job('j3', { pipeline: 'report', state: 'killed' })] };
        }
      ],
      ['jobs', () => paginate([job('j2', { state: stopped ? 'killed' : 'running' })])('jobs?limit=20', {})]
    ]);
    api.mockImplementation(r.impl);
    const m = new JobsModel();
    await m.show('predict');
    expect(m.jobs[0].state).toBe('running');
    const killed = await m.stop('j2');
    expect(killed.map(j => j.id)).toEqual(['j2', 'j3']);
    await settle();
    expect(m.jobs[0].state).toBe('killed');
  });

  it('reruns a done job with a POST to its rerun route (reprocess or not) and reloads', async () => {
    const r = router([
      ['jobs/j1/rerun', (_e: string, init: RequestInit) => (expect(typeof JSON.parse(String(init.body)).reprocess).toBe('boolean'), job('j9', { state: 'created' }))],
      ['jobs', paginate([job('j1', { state: 'failure' })])]
    ]);
    api.mockImplementation(r.impl);
    const m = new JobsModel();
    await m.show('predict');
    const again = await m.rerun('j1', false);
    expect(again.id).toBe('j9');
    const posts = r.calls.filter(c => c.endPoint === 'jobs/j1/rerun');
    expect(posts[0].init.method).toBe('POST');
    expect(JSON.parse(String(posts[0].init.body))).toEqual({ reprocess: false });
    await m.rerun('j1', true);
    expect(JSON.parse(String(r.calls.filter(c => c.endPoint === 'jobs/j1/rerun')[1].init.body))).toEqual({ reprocess: true });
    expect(r.calls.filter(c => c.endPoint.startsWith('jobs?')).length).toBeGreaterThanOrEqual(2);
  });

  it('reads a running job’s datums again while it runs (running datums have no event)', async () => {
    jest.useFakeTimers();
    try {
      let running = true;
      const r = router([
        ['jobs', paginate([job('j2', { state: 'running', done: false })])],
        ['jobs/j2/datums', () => ({ items: running ? [{ id: 'd1', state: 'running', started: '2024-01-01T00:00:00+00:00', worker: 'tcp://127.0.0.1:1' }] : [{ id: 'd1', state: 'success' }], offset: 0, limit: 50, next_offset: null })]
      ]);
      api.mockImplementation(r.impl);
      const m = new JobsModel();
      await m.show('predict');
      await m.select('j2');
      expect(m.datums[0].state).toBe('running');
      const datumCalls = () => r.calls.filter(c => c.endPoint.startsWith('jobs/j2/datums')).length;
      const before = datumCalls();
      running = false;
      await jest.advanceTimersByTimeAsync(1000);
      expect(datumCalls()).toBe(before + 1);
      expect(m.datums[0].state).toBe('success');
      m.applyJob(job('j2', { state: 'success', done: true }));
      await jest.advanceTimersByTimeAsync(5000);
      const after = datumCalls();
      await jest.advanceTimersByTimeAsync(5000);
      expect(datumCalls()).toBe(after); // done: no more polling
    } finally {
      jest.useRealTimers();
    }
  });

  it('lists every pipeline’s jobs, filters them by state, and lists failed datums first', async () => {
    const datums = [
      { id: 'd1', state: 'skipped' },
      { id: 'd2', state: 'success' },
      { id: 'd3', state: 'failed' },
      { id: 'd4', state: 'success' }
    ];
    const r = router([
      ['jobs', paginate([job('j3', { pipeline: 'model', state: 'failure' }), job('j2', { state: 'killed' }), job('j1', { state: 'success' })])],
      ['jobs/j3/datums', paginate(datums)]
    ]);
    api.mockImplementation(r.impl);
    const m = new JobsModel();
    await m.show(ALL_PIPELINES);
    expect(args(r.calls[0].endPoint).pipeline).toBeUndefined(); // every pipeline
    expect(m.allPipelines).toBe(true);
    m.setStateFilter('failure'); // failure holds killed jobs too
    expect(m.visibleJobs.map(j => j.id)).toEqual(['j3', 'j2']);
    m.setStateFilter('success');
    expect(m.visibleJobs.map(j => j.id)).toEqual(['j1']);
    m.applyJob(job('j4', { pipeline: 'other', state: 'success', created: '2025-01-01T00:00:00+00:00' }));
    expect(m.jobs[0].id).toBe('j4'); // a new job of any pipeline comes on top
    await m.select('j3');
    expect(m.visibleDatums.map(d => d.id)).toEqual(['d3', 'd2', 'd4', 'd1']);
    m.setDatumFilter('success');
    expect(m.visibleDatums.map(d => d.id)).toEqual(['d2', 'd4']);
    await m.select('j3'); // another selection starts unfiltered
    expect(m.datumFilter).toBe('all');
    await m.select(null);
  });

  it('computes progress shares', () => {
    expect(progress({ total: 4, processed: 2, skipped: 1, failed: 1 })).toEqual({ processed: 50, skipped: 25, failed: 25 });
    expect(progress({ total: 0, processed: 0, skipped: 0, failed: 0 })).toEqual({ processed: 0, skipped: 0, failed: 0 });
  });
});

describe('ReposModel', () => {
  beforeEach(() => api.mockReset());

  it('uploads dropped files one commit per file, then reloads', async () => {
    const r = router([
      [/^repos\/data\/branches\/master\/files/, (e: string) => commit(args(e).path, { repo: 'data' })],
      ['repos', { items: [] }]
    ]);
    api.mockImplementation(r.impl);
    const m = new ReposModel();
    const commits = await m.uploadFiles('data', 'master', [
      { name: 'a.csv', body: 'x,y\n' },
      { name: 'b c.png', body: new ArrayBuffer(3) }
    ]);
    expect(commits.map(c => c.id)).toEqual(['/a.csv', '/b c.png']);
    const puts = r.calls.filter(c => c.init.method === 'PUT');
    expect(puts.map(c => c.endPoint)).toEqual([
      'repos/data/branches/master/files?path=%2Fa.csv&message=upload%20a.csv',
      'repos/data/branches/master/files?path=%2Fb%20c.png&message=upload%20b%20c.png'
    ]);
    expect((puts[0].init.headers as Record<string, string>)['Content-Type']).toBe('application/octet-stream');
    expect(m.upload).toMatchObject({ done: 2, total: 2, error: null });
  });

  it('gives uploads the message the user wrote', async () => {
    const r = router([
      [/^repos\/data\/branches\/dev\/files/, (e: string) => commit(args(e).path, { repo: 'data' })],
      ['repos', { items: [] }]
    ]);
    api.mockImplementation(r.impl);
    const m = new ReposModel();
    await m.uploadFiles('data', 'dev', [{ name: 'a.csv', body: '' }, { name: 'b.csv', body: '' }], 'March batch');
    const messages = r.calls.filter(c => c.init.method === 'PUT').map(c => args(c.endPoint).message);
    expect(messages).toEqual(['March batch (a.csv)', 'March batch (b.csv)']);
    expect(uploadMessage('  ', 'x.csv', 1)).toBe('upload x.csv');
    expect(uploadMessage('one file', 'x.csv', 1)).toBe('one file');
  });

  it('searches repos, deletes one and creates branches', async () => {
    const base = { description: '', created: '', branches: ['master'], size_bytes: 0, last_commit: null };
    let items: any[] = [
      { ...base, name: 'training', description: 'labelled rows' },
      { ...base, name: 'samples', description: 'rows to label' },
      { ...base, name: 'images' }
    ];
    const r = router([
      [/^repos\/images/, (e: string, init: RequestInit) => {
        expect(init.method).toBe('DELETE');
        expect(args(e)).toEqual({ force: '1' });
        items = items.filter(i => i.name !== 'images');
        return '';
      }],
      ['repos/training/branches/dev', (_: string, init: RequestInit) => {
        expect(init.method).toBe('PUT');
        expect(JSON.parse(String(init.body))).toEqual({ head: 'master' });
        return { repo: 'training', name: 'dev', head: 'h1' };
      }],
      ['repos', () => ({ items })]
    ]);
    api.mockImplementation(r.impl);
    const m = new ReposModel();
    await m.refresh();
    m.setFilter('rows');
    expect(m.visible.map(x => x.name)).toEqual(['samples', 'training']);
    m.setFilter('label TRAIN');
    expect(m.visible.map(x => x.name)).toEqual(['training']);
    m.setFilter('');
    await m.remove('images', true);
    expect(m.repos.map(x => x.name)).toEqual(['samples', 'training']);
    expect((await m.createBranch('training', 'dev', 'master')).name).toBe('dev');
  });

  it('stops at a failed upload and says which file', async () => {
    api.mockImplementation(router([[/files/, new Error('too large')]]).impl);
    const m = new ReposModel();
    const commits = await m.uploadFiles('data', 'dev', [{ name: 'big.bin', body: '' }, { name: 'next', body: '' }]);
    expect(commits).toEqual([]);
    expect(m.upload?.error).toContain('big.bin');
    expect(m.upload?.error).toContain('too large');
    expect(api).toHaveBeenCalledTimes(1);
  });

  it('creates a repo and loads last commits once per head', async () => {
    let items: any[] = [];
    const r = router([
      ['repos', (_: string, init: RequestInit) => {
        if (init.method === 'POST') {
          const body = JSON.parse(String(init.body));
          items = [{ name: body.name, description: body.description, created: '', branches: ['master'], size_bytes: 0, last_commit: 'h1' }];
          return items[0];
        }
        return { items };
      }],
      ['repos/new/commits/h1', commit('h1', { repo: 'new' })]
    ]);
    api.mockImplementation(r.impl);
    const m = new ReposModel();
    await m.create('new', 'fresh data');
    expect(m.repos.map(x => x.name)).toEqual(['new']);
    expect(m.lastCommit(m.repos[0])?.id).toBe('h1');
    await m.refresh();
    expect(r.calls.filter(c => c.endPoint === 'repos/new/commits/h1')).toHaveLength(1);
  });

  it('opens a repo on master, else on its first data branch', () => {
    const base = { name: 'r', description: '', created: '', size_bytes: 0, last_commit: null };
    expect(defaultBranch({ ...base, branches: ['dev', 'master'] })).toBe('master');
    expect(defaultBranch({ ...base, branches: ['spec', 'out'] })).toBe('out');
  });
});
