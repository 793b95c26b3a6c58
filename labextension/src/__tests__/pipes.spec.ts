import { Stream } from '@lumino/signaling';

import { Emission, EventStream, SCHEMA_PREFIX } from '../model/events';
import { FRONTEND_VERSION, PipesModel } from '../model/pipes';
import { IRepo } from '../model/types';
import { requestAPI } from '../request';
import { commit, irisDag, job, paginate, router, settle } from './helpers';

declare const require: (id: string) => any;

jest.mock('../request', () => ({ requestAPI: jest.fn(), requestBytes: jest.fn() }));
const api = requestAPI as jest.MockedFunction<typeof requestAPI>;

function repo(name: string, branches = ['master']): IRepo {
  return { name, description: '', created: '2024-01-01T00:00:00+00:00', branches, size_bytes: 3, last_commit: null };
}

/**
 * An event stream on a stand-in for JupyterLab's event manager (a lumino `Stream`, as
 * `EventManager.stream` is); `send` emits what jupyter_server's websocket would deliver.
 */
function liveStream(): {
  stream: EventStream;
  send: (event: Record<string, unknown>) => void;
  lose: () => void;
} {
  const source = { stream: new Stream<object, Emission>({}) };
  const stream = new EventStream({ source, marker: async () => ({ instance: 'i1', seq: 0 }), checkInterval: 0 });
  let seq = 0;
  return {
    stream,
    send: ({ type, ...payload }) => {
      seq += 1;
      source.stream.emit({ schema_id: `${SCHEMA_PREFIX}${type}/v1`, seq, instance: 'i1', ...payload });
    },
    lose: () => void (seq += 1) // an event sent while the socket was down
  };
}

describe('PipesModel', () => {
  let model: PipesModel;
  beforeEach(() => api.mockReset());
  afterEach(() => model?.dispose());

  it('has the version of package.json', () => {
    const pkg = require('../../package.json');
    expect(FRONTEND_VERSION).toBe(pkg.version);
  });

  it('loads repos, the DAG and the first repo history after a matching handshake', async () => {
    const r = router([
      ['settings', { version: FRONTEND_VERSION, jupyter_server_version: '2.0.0' }],
      ['repos', { items: [repo('training'), repo('model', ['master', 'spec'])] }],
      ['dag', irisDag()],
      ['repos/model/commits', paginate([commit('m2'), commit('m1')])]
    ]);
    api.mockImplementation(r.impl);
    model = new PipesModel({ stream: liveStream().stream });
    await model.refresh();
    expect(model.error).toBeNull();
    expect(model.repos.repos.map(x => x.name)).toEqual(['model', 'training']);
    expect(model.dag.pipelines).toEqual(['model', 'predict']);
    expect(model.history.repo).toBe('model');
    expect(model.history.branch).toBe('master');
    expect(model.history.commits.map(c => c.id)).toEqual(['m2', 'm1']);
  });

  it('explains a version mismatch instead of loading', async () => {
    api.mockResolvedValueOnce({ version: '9.9.9' } as any);
    model = new PipesModel({ stream: liveStream().stream });
    await model.refresh();
    expect(model.error).toContain('9.9.9');
    expect(model.error).toContain(FRONTEND_VERSION);
    expect(model.repos.repos).toEqual([]);
    expect(api).toHaveBeenCalledTimes(1);
  });

  it('reports an unreachable server', async () => {
    api.mockRejectedValueOnce(new Error('boom'));
    model = new PipesModel({ stream: liveStream().stream });
    await model.refresh();
    expect(model.error).toContain('boom');
    expect(model.loaded).toBe(true);
  });

  it('refreshes what an event concerns, from events on the live stream', async () => {
    let commits = [commit('m1')];
    let jobs = [job('j2', { state: 'success' })];
    const r = router([
      ['settings', { version: FRONTEND_VERSION }],
      ['repos', { items: [repo('model')] }],
      ['dag', irisDag()],
      ['repos/model/commits', (e: string) => paginate(commits)(e, {})],
      ['jobs', (e: string) => paginate(jobs)(e, {})]
    ]);
    api.mockImplementation(r.impl);
    const live = liveStream();
    model = new PipesModel({ stream: live.stream });
    await model.refresh();
    await model.selectPipeline('predict');
    await settle();
    const count = (p: string) => r.calls.filter(c => c.endPoint.split('?')[0] === p).length;
    const before = { history: count('repos/model/commits'), repos: count('repos'), dag: count('dag') };

    // a commit on the shown branch: history, repos and the DAG reload
    commits = [commit('m2', { origin: 'revert' }), ...commits];
    live.send({ type: 'commit', repo: 'model', branch: 'master', commit: 'm2', previous: 'm1' });
    await settle();
    expect(model.history.commits.map(c => c.id)).toEqual(['m2', 'm1']);
    expect(count('repos/model/commits')).toBe(before.history + 1);
    expect(count('repos')).toBe(before.repos + 1);
    expect(count('dag')).toBe(before.dag + 1);

    // a commit on another branch leaves the history alone
    live.send({ type: 'commit', repo: 'model', branch: 'spec', commit: 's2', previous: null });
    await settle();
    expect(count('repos/model/commits')).toBe(before.history + 1);

    // a new job of the shown pipeline: it appears on top, with no request for the list
    const jobsBefore = count('jobs');
    const fresh = job('j3', { state: 'running', created: '2024-01-02T00:00:00+00:00', processed: 0 });
    live.send({ type: 'job', ...fresh });
    await settle();
    expect(model.jobs.jobs.map(j => j.id)).toEqual(['j3', 'j2']);
    expect(count('jobs')).toBe(jobsBefore);
    // ...and the DAG, which did not know j3, reloads
    expect(count('dag')).toBeGreaterThan(before.dag + 1);

    // progress of the newest job colours its node at once
    model.dag.dag.nodes.forEach(n => n.kind === 'pipeline' && n.name === 'predict' && (n.last_job = 'j3'));
    const dagCalls = count('dag');
    live.send({ type: 'job', ...fresh, state: 'success', processed: 4, done: true });
    await settle();
    expect(model.dag.node('pipeline:predict')).toMatchObject({ state: 'success' });
    expect(count('dag')).toBe(dagCalls);
    expect(model.jobs.jobs[0]).toMatchObject({ id: 'j3', state: 'success', processed: 4 });
  });

  it('plans a revert from the server’s downstream answer and performs it', async () => {
    const downstream = (pipelines: string[], jobs: ReturnType<typeof job>[] = []) => ({
      repo: 'x', branch: 'master', commit: null, global_id: null, pipelines, jobs
    });
    const r = router([
      ['settings', { version: FRONTEND_VERSION }],
      ['repos', { items: [repo('model', ['master', 'spec'])] }],
      ['dag', irisDag()],
      ['repos/model/commits', paginate([commit('m2'), commit('m1')])],
      ['repos/model/commits/m1/downstream', downstream(['predict'], [job('j1', { pipeline: 'predict', state: 'success' })])],
      ['repos/training/commits/t0/downstream', downstream(['model', 'predict'])],
      ['repos/model/branches/dev/downstream', downstream(['audit'], [job('jx')])],
      ['repos/model/branches/master/revert', (_: string, init: RequestInit) => commit('m3', { origin: 'revert', restores: JSON.parse(String(init.body)).to })]
    ]);
    api.mockImplementation(r.impl);
    model = new PipesModel({ stream: liveStream().stream });
    await model.refresh();
    const dagCalls = r.calls.filter(c => c.endPoint === 'dag').length;
    const plan = await model.planRevert(commit('m1'));
    expect(plan).toMatchObject({ repo: 'model', branch: 'master', pipelines: ['predict'] });
    expect(plan.jobs.map(j => j.id)).toEqual(['j1']);
    // the plan is the server's: the DAG is not read again for it
    expect(r.calls.filter(c => c.endPoint === 'dag').length).toBe(dagCalls);
    const created = await model.revert(plan);
    expect(created).toMatchObject({ id: 'm3', origin: 'revert', restores: 'm1' });
    const post = r.calls.find(c => c.endPoint === 'repos/model/branches/master/revert')!;
    expect(post.init.method).toBe('POST');
    expect(JSON.parse(String(post.init.body))).toEqual({ to: 'm1' });
    // the training repo's plan re-runs both pipelines, in the server's order
    const training = await model.planRevert(commit('t0', { repo: 'training', origin: 'user' }));
    expect(training.pipelines).toEqual(['model', 'predict']);
    // another branch than the commit's: that branch's downstream, and no earlier jobs
    const dev = await model.planRevert(commit('m1'), 'dev');
    expect(dev).toMatchObject({ branch: 'dev', pipelines: ['audit'], jobs: [] });
  });

  it('reloads everything when events were missed', async () => {
    const r = router([
      ['settings', { version: FRONTEND_VERSION }],
      ['repos', { items: [] }],
      ['dag', { nodes: [], edges: [] }]
    ]);
    api.mockImplementation(r.impl);
    const live = liveStream();
    model = new PipesModel({ stream: live.stream });
    await model.refresh();
    await settle();
    const settings = () => r.calls.filter(c => c.endPoint === 'settings').length;
    const before = settings();
    live.send({ type: 'cluster', state: 'ready' });
    await settle();
    expect(settings()).toBe(before); // no gap: no reload
    live.lose();
    live.send({ type: 'cluster', state: 'none' }); // the gap shows
    await settle();
    expect(settings()).toBe(before + 1);
  });
});
