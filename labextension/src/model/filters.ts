/**
 * Search and filters of the sidebar's lists, as pure functions of what is loaded: repos by
 * name or description, commits by message or id, jobs by state, datums by state (failed ones
 * first).
 */
import { jobNodeState, NodeState } from './dag';
import { ICommit, IDatum, IJob, IRepo } from './types';

/** The words of a query, lower-cased (empty words dropped). */
function words(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter(Boolean);
}

/** Repos whose name or description holds every word of `query`. */
export function filterRepos(repos: IRepo[], query: string): IRepo[] {
  const ws = words(query);
  if (!ws.length) {
    return repos;
  }
  return repos.filter(r => {
    const text = `${r.name} ${r.description}`.toLowerCase();
    return ws.every(w => text.includes(w));
  });
}

/**
 * Commits matching `query`: each word is found in the message, or starts the commit's id (so a
 * pasted id prefix finds its commit).
 */
export function filterCommits(commits: ICommit[], query: string): ICommit[] {
  const ws = words(query);
  if (!ws.length) {
    return commits;
  }
  return commits.filter(c => {
    const message = c.message.toLowerCase();
    const id = c.id.toLowerCase();
    return ws.every(w => message.includes(w) || id.startsWith(w));
  });
}

/** A job filter: a display state, or every job. */
export type JobStateFilter = NodeState | 'all';

/** Jobs in a display state (`failure` also holds killed jobs, `queued` created ones). */
export function filterJobs(jobs: IJob[], state: JobStateFilter): IJob[] {
  if (state === 'all') {
    return jobs;
  }
  return jobs.filter(j => jobNodeState(j.state) === state);
}

export type DatumStateFilter = IDatum['state'] | 'all';

const DATUM_ORDER: Record<IDatum['state'], number> = { failed: 0, running: 1, success: 2, skipped: 3 };

/**
 * Datums in a state, failed ones first, then those running now, then processed, then skipped
 * (stable otherwise).
 */
export function sortDatums(datums: IDatum[], state: DatumStateFilter = 'all'): IDatum[] {
  const kept = state === 'all' ? datums : datums.filter(d => d.state === state);
  return kept
    .map((d, i) => ({ d, i }))
    .sort((a, b) => DATUM_ORDER[a.d.state] - DATUM_ORDER[b.d.state] || a.i - b.i)
    .map(x => x.d);
}

/** How many datums are in each state. */
export function datumCounts(datums: IDatum[]): Record<IDatum['state'], number> {
  const out = { failed: 0, running: 0, success: 0, skipped: 0 };
  datums.forEach(d => (out[d.state] += 1));
  return out;
}
