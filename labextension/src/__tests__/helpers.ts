/**
 * Test helpers: a routed fake of the request module and sample API values.
 */
import { ICommit, IDag, IJob, IPage } from '../model/types';

export type Handler = (endPoint: string, init: RequestInit) => unknown;

/**
 * A `requestAPI` implementation answering by route: the first pattern (a string prefix of the
 * path before `?`, or a RegExp on the whole end point) that matches answers.
 */
export function router(routes: Array<[string | RegExp, Handler | unknown]>) {
  const calls: Array<{ endPoint: string; init: RequestInit }> = [];
  const impl = async (endPoint = '', init: RequestInit = {}): Promise<any> => {
    calls.push({ endPoint, init });
    const path = endPoint.split('?')[0];
    for (const [pattern, answer] of routes) {
      const hit = typeof pattern === 'string' ? path === pattern : pattern.test(endPoint);
      if (hit) {
        const value = typeof answer === 'function' ? (answer as Handler)(endPoint, init) : answer;
        if (value instanceof Error) {
          throw value;
        }
        return value;
      }
    }
    throw new Error(`no route for ${endPoint}`);
  };
  return { impl, calls };
}

/** Query arguments of an end point. */
export function args(endPoint: string): Record<string, string> {
  const q = endPoint.split('?')[1] ?? '';
  const out: Record<string, string> = {};
  new URLSearchParams(q).forEach((value, key) => (out[key] = value));
  return out;
}

export function commit(id: string, extra: Partial<ICommit> = {}): ICommit {
  return {
    id,
    repo: 'model',
    branch: 'master',
    parent: null,
    origin: 'auto',
    message: `commit ${id}`,
    state: 'finished',
    started: '2024-01-01T00:00:00+00:00',
    finished: '2024-01-01T00:00:01+00:00',
    size_bytes: 10,
    file_count: 1,
    provenance: [],
    restores: null,
    ...extra
  };
}

/** A paginated answer over `all`, honouring `limit` and `offset`. */
export function paginate<T>(all: T[]): Handler {
  return (endPoint: string): IPage<T> => {
    const a = args(endPoint);
    const limit = Number(a.limit ?? 50);
    const offset = Number(a.offset ?? 0);
    const items = all.slice(offset, offset + limit);
    return { items, offset, limit, next_offset: offset + limit < all.length ? offset + limit : null };
  };
}

export function job(id: string, extra: Partial<IJob> = {}): IJob {
  return {
    id,
    pipeline: 'predict',
    version: 1,
    state: 'running',
    reason: '',
    created: '2024-01-01T00:00:00+00:00',
    started: '2024-01-01T00:00:01+00:00',
    finished: null,
    inputs: [],
    spec_commit: null,
    output_commit: null,
    total: 4,
    processed: 1,
    skipped: 0,
    failed: 0,
    error: null,
    done: false,
    duration_s: null,
    ...extra
  };
}

/** The demo's graph: training → model → predict ← samples (as `/pipes/api/dag` answers). */
export function irisDag(): IDag {
  return {
    nodes: [
      { id: 'repo:training', kind: 'repo', name: 'training', output_of: null, head: 't1', branches: ['master'], size_bytes: 1 },
      { id: 'repo:samples', kind: 'repo', name: 'samples', output_of: null, head: 's1', branches: ['master'], size_bytes: 1 },
      { id: 'repo:model', kind: 'repo', name: 'model', output_of: 'pipeline:model', head: 'm1', branches: ['master', 'spec'], size_bytes: 1 },
      { id: 'repo:predict', kind: 'repo', name: 'predict', output_of: 'pipeline:predict', head: 'p1', branches: ['master', 'spec'], size_bytes: 1 },
      { id: 'pipeline:model', kind: 'pipeline', name: 'model', version: 1, state: 'success', last_job: 'j1' },
      { id: 'pipeline:predict', kind: 'pipeline', name: 'predict', version: 1, state: 'success', last_job: 'j2' }
    ],
    edges: [
      { from: 'repo:training', to: 'pipeline:model', branch: 'master' },
      { from: 'pipeline:model', to: 'repo:model', branch: 'master' },
      { from: 'repo:samples', to: 'pipeline:predict', branch: 'master' },
      { from: 'repo:model', to: 'pipeline:predict', branch: 'master' },
      { from: 'pipeline:predict', to: 'repo:predict', branch: 'master' }
    ]
  };
}

/** Let pending promise callbacks run. */
export async function settle(times = 10): Promise<void> {
  for (let i = 0; i < times; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}
