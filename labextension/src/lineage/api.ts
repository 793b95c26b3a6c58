/**
 * Lineage (#14) over REST: the JSON shapes of `/lineage`, `/explain`, `/metrics`, `/metrics/diff`, `/log` and
 * `/at` (see `jupyter_pipes/server/openapi.json`), and the calls that fetch them. Every request
 * goes through `requestAPI` (the extension's one HTTP choke point).
 */
import { ICommit } from '../model';
import { requestAPI } from '../request';
import { apiPath, query } from '../url';

export interface ILineageCommit {
  repo: string;
  id: string;
  branch: string | null;
  origin: string;
  message: string;
  time: string | null;
  actor: string | null;
  global_id: string | null;
  restores: string | null;
}

export interface ILineageFile {
  /** `repo@commit:path`. */
  key: string;
  repo: string;
  commit: string;
  path: string;
  hash: string;
  size_bytes: number;
  /** `job/datum` of the step that wrote it. */
  written_by: string | null;
  /** Id of the user commit that wrote it. */
  written_in: string | null;
  via: string[];
  note: string;
}

export interface ILineageInput {
  name: string;
  repo: string;
  commit: string | null;
  path: string;
  files: string[];
  more_files: number;
}

export interface ILineageCell {
  index: number;
  id: string | null;
  execution_count: number | null;
  source: string;
}

export interface ILineageStep {
  key: string;
  pipeline: string;
  job: string;
  datum: string;
  global_id: string | null;
  version: number;
  spec_commit: string | null;
  output_commit: string | null;
  notebook: string | null;
  notebook_hash: string | null;
  cmd: string[];
  parameters: Record<string, unknown>;
  has_notebook: boolean;
  cell: ILineageCell | null;
  started: string | null;
  duration_s: number;
  inputs: ILineageInput[];
}

export interface ILineage {
  root: string;
  files: ILineageFile[];
  steps: ILineageStep[];
  commits: ILineageCommit[];
  truncated: boolean;
}

export interface ITableDiff {
  format: string;
  rows_old: number;
  rows_new: number;
  rows_added: number;
  rows_removed: number;
  columns_added: string[];
  columns_removed: string[];
  columns: string[];
  sample_added: string[][];
  sample_removed: string[][];
  note: string;
}

export interface ICellDiff {
  change: 'added' | 'removed' | 'modified';
  old_index: number | null;
  new_index: number | null;
  old_source: string;
  new_source: string;
  diff: string;
}

export interface IFieldDiff {
  field: string;
  old: unknown;
  new: unknown;
}

export type DifferenceKind =
  | 'result'
  | 'upstream'
  | 'file'
  | 'notebook'
  | 'parameters'
  | 'spec'
  | 'pipeline';

export interface IDifference {
  kind: DifferenceKind;
  summary: string;
  depth: number;
  pipeline: string | null;
  input: string | null;
  repo: string | null;
  path: string | null;
  change: string;
  old_commit: string | null;
  new_commit: string | null;
  old_hash: string | null;
  new_hash: string | null;
  old_writer: ILineageCommit | null;
  new_writer: ILineageCommit | null;
  old_step: string | null;
  new_step: string | null;
  table: ITableDiff | null;
  cells: ICellDiff[];
  fields: IFieldDiff[];
  files: Array<{ path: string; change: string }>;
  more_files: number;
}

export interface IExplanation {
  old: string;
  new: string;
  same_content: boolean;
  differences: IDifference[];
  unchanged: string[];
  old_global_id: string | null;
  new_global_id: string | null;
}

export interface IMetrics {
  commit: string;
  repo: string;
  branch: string | null;
  origin: string;
  message: string;
  time: string | null;
  values: Record<string, number>;
  source: string | null;
  indexed: boolean;
  global_id: string | null;
}

export interface IMetricChange {
  name: string;
  old: number | null;
  new: number | null;
  change: number | null;
  relative: number | null;
}

export interface IMetricsDiff {
  old: IMetrics;
  new: IMetrics;
  changes: IMetricChange[];
  unchanged: IMetricChange[];
  explanation: IExplanation | null;
}

export interface IHeadMove {
  repo: string;
  branch: string;
  time: string;
  old: string | null;
  new: string | null;
  cause: string;
  actor: string;
  global_id: string | null;
}

export interface IHeadAt {
  repo: string;
  branch: string;
  time: string;
  commit: ICommit | null;
  move: IHeadMove | null;
}

/** A file's lineage (`ref`: a commit id or branch of `repo`). */
export function fetchLineage(repo: string, ref: string, path: string): Promise<ILineage> {
  return requestAPI<ILineage>(apiPath('repos', repo, 'commits', ref, 'lineage') + query({ path }));
}

/** Why `newer` differs from `older` (`repo@ref[:path]` each). */
export function fetchExplanation(older: string, newer: string): Promise<IExplanation> {
  return requestAPI<IExplanation>('explain' + query({ old: older, new: newer }));
}

/** The metrics of a branch's commits, newest first. */
export async function fetchMetrics(repo: string, branch: string, limit = 50): Promise<IMetrics[]> {
  const page = await requestAPI<{ items: IMetrics[] }>(
    apiPath('repos', repo, 'branches', branch, 'metrics') + query({ limit })
  );
  return page.items;
}

/** The metrics of one commit. */
export function fetchCommitMetrics(repo: string, ref: string): Promise<IMetrics> {
  return requestAPI<IMetrics>(apiPath('repos', repo, 'commits', ref, 'metrics'));
}

/** The metrics of two commits of one pipeline output (`why`: with the explanation). */
export function fetchMetricsDiff(older: string, newer: string, why = false): Promise<IMetricsDiff> {
  return requestAPI<IMetricsDiff>('metrics/diff' + query({ old: older, new: newer, why: why ? 'true' : 'false' }));
}

/** The branch timeline, newest first. */
export async function fetchBranchLog(repo: string, branch: string, limit = 200): Promise<IHeadMove[]> {
  const page = await requestAPI<{ items: IHeadMove[] }>(
    apiPath('repos', repo, 'branches', branch, 'log') + query({ limit })
  );
  return page.items;
}

/** The commit live on a branch at `time` (ISO 8601). */
export function fetchHeadAt(repo: string, branch: string, time: string): Promise<IHeadAt> {
  return requestAPI<IHeadAt>(apiPath('repos', repo, 'branches', branch, 'at') + query({ time }));
}
