/**
 * The JSON shapes of the REST API (`jupyter_pipes/server/openapi.json`), as the models use them.
 */

export interface ISettings {
  version: string;
  jupyter_server_version?: string;
  python_version?: string;
  store?: string;
  controller?: boolean;
  dask_scheduler?: string | null;
  max_upload_size?: number;
  /** The state of the controller's Dask cluster (see the `cluster` event). */
  cluster?: ClusterState;
}

export interface IItems<T> {
  items: T[];
}

/** A page of a paginated list; `next_offset` is `null` on the last page. */
export interface IPage<T> extends IItems<T> {
  offset: number;
  limit: number;
  next_offset: number | null;
}

export interface IRepo {
  name: string;
  description: string;
  created: string;
  branches: string[];
  size_bytes: number;
  last_commit: string | null;
}

export interface IBranch {
  repo: string;
  name: string;
  head: string | null;
}

export type Origin = 'user' | 'auto' | 'revert';

export interface ICommitRef {
  repo: string;
  id: string;
  branch: string | null;
}

export interface ICommit {
  id: string;
  repo: string;
  branch: string | null;
  parent: string | null;
  origin: Origin;
  message: string;
  state: 'open' | 'finished';
  started: string;
  finished: string | null;
  size_bytes: number;
  file_count: number;
  provenance: ICommitRef[];
  restores: string | null;
}

/** `GET /repos/{repo}/commits/{ref}`: a commit and the commits computed from it. */
export interface ICommitDetail extends ICommit {
  subvenance: ICommit[];
}

export interface IFileInfo {
  path: string;
  type: 'file' | 'dir';
  size_bytes: number;
  hash: string;
  commit: string | null;
}

export interface IDiffEntry {
  path: string;
  change: 'added' | 'removed' | 'modified';
  old: IFileInfo | null;
  new: IFileInfo | null;
}

export type JobState = 'created' | 'running' | 'success' | 'failure' | 'killed' | 'unrunnable';

export interface IJobError {
  datum?: string;
  cell_index?: number | null;
  ename?: string;
  evalue?: string;
  [key: string]: unknown;
}

export interface IJob {
  id: string;
  pipeline: string;
  version: number;
  state: JobState;
  reason: string;
  created: string;
  started: string | null;
  finished: string | null;
  inputs: ICommitRef[];
  spec_commit: string | null;
  output_commit: string | null;
  total: number;
  processed: number;
  skipped: number;
  failed: number;
  error: IJobError | null;
  blocked_on?: string | null;
  done: boolean;
  duration_s: number | null;
}

export interface IDatumItem {
  name: string;
  repo: string;
  path: string;
  hash: string;
  size_bytes: number;
  commit: string | null;
}

export interface IDatum {
  id: string;
  job: string;
  /** `running`: a datum of a running job that runs now (`started`, `worker`). */
  state: 'success' | 'skipped' | 'failed' | 'running';
  inputs: IDatumItem[];
  outputs: string[];
  tries: number;
  duration_s: number;
  hash: string;
  error: IJobError | null;
  has_notebook: boolean;
  reused_from: string | null;
  /** A running datum's start (ISO 8601). */
  started?: string | null;
  /** The address of the Dask worker running it. */
  worker?: string | null;
}

export interface IPipeline {
  name: string;
  version: number;
  spec: Record<string, unknown>;
  spec_commit: string;
  description: string;
  inputs: string[];
  output_branch: string;
  created: string;
  updated: string;
  last_job: string | null;
  last_job_state: JobState | null;
}

export interface IDagRepoNode {
  id: string;
  kind: 'repo';
  name: string;
  output_of: string | null;
  head: string | null;
  branches: string[];
  size_bytes: number;
}

export interface IDagPipelineNode {
  id: string;
  kind: 'pipeline';
  name: string;
  version: number;
  state: JobState | null;
  last_job: string | null;
}

export type IDagNode = IDagRepoNode | IDagPipelineNode;

export interface IDagEdge {
  from: string;
  to: string;
  branch: string;
}

export interface IDag {
  nodes: IDagNode[];
  edges: IDagEdge[];
}

/** The events of `/pipes/api/events` (see docs/rest-api.md). */
export type IPipesEvent =
  | { type: 'repo'; action: 'created' | 'deleted'; repo: string }
  | {
      type: 'branch';
      action: 'created' | 'deleted';
      repo: string;
      branch: string;
      head: string | null;
    }
  | { type: 'commit'; repo: string; branch: string; commit: string; previous: string | null }
  | {
      type: 'pipeline';
      action: 'created' | 'updated' | 'deleted';
      pipeline: string;
      version?: number;
    }
  | ({ type: 'job' } & IJob)
  | { type: 'cluster'; state: ClusterState };

/**
 * The Dask cluster of the server's controller: `none` before its first job, `starting` while
 * it starts (a job waits for it), `ready` once it runs datums.
 */
export type ClusterState = 'none' | 'starting' | 'ready';
