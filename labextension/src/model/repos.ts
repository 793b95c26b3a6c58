/**
 * Every repo with its branches, size and last commit; creating repos; uploading files.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from '../request';
import { apiPath, query } from '../url';
import { filterRepos } from './filters';
import { Refresher } from './refresher';
import { IBranch, ICommit, IItems, IRepo } from './types';

/** A file to upload: a browser `File` or anything with a name and a body. */
export interface IUploadFile {
  name: string;
  body: Blob | ArrayBuffer | string;
}

export interface IUploadState {
  repo: string;
  branch: string;
  /** The file being sent (or the last one). */
  current: string;
  done: number;
  total: number;
  error: string | null;
}

/** The branch a repo opens on: `master` if it has one, else its first non-`spec` branch. */
export function defaultBranch(repo: IRepo): string {
  if (repo.branches.includes('master')) {
    return 'master';
  }
  return repo.branches.find(b => b !== 'spec') ?? repo.branches[0] ?? 'master';
}

/** The message of one upload's commit: `message` (with the file's name when several). */
export function uploadMessage(message: string, name: string, count: number): string {
  const text = message.trim();
  if (!text) {
    return `upload ${name}`;
  }
  return count > 1 ? `${text} (${name})` : text;
}

export class ReposModel {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get repos(): IRepo[] {
    return this._repos;
  }

  get loaded(): boolean {
    return this._loaded;
  }

  get error(): string | null {
    return this._error;
  }

  get upload(): IUploadState | null {
    return this._upload;
  }

  /** The search over repo names and descriptions. */
  get filter(): string {
    return this._filter;
  }

  /** The repos the search keeps. */
  get visible(): IRepo[] {
    return filterRepos(this._repos, this._filter);
  }

  setFilter(query: string): void {
    if (query !== this._filter) {
      this._filter = query;
      this._changed.emit();
    }
  }

  /** Whether pipelines' internal `spec` branches are listed. */
  get showInternal(): boolean {
    return this._showInternal;
  }

  setShowInternal(show: boolean): void {
    if (show !== this._showInternal) {
      this._showInternal = show;
      this._changed.emit();
    }
  }

  repo(name: string): IRepo | undefined {
    return this._repos.find(r => r.name === name);
  }

  /** The head commit of a repo's `master` (or newest) branch, once loaded. */
  lastCommit(repo: IRepo): ICommit | null {
    return repo.last_commit ? this._commits.get(`${repo.name}@${repo.last_commit}`) ?? null : null;
  }

  /** Reload every repo (coalesced); a last commit already known is not fetched again. */
  refresh(): Promise<void> {
    return this._refresher.request();
  }

  /** Create a repo; the list shows it at once. */
  async create(name: string, description = ''): Promise<IRepo> {
    const repo = await requestAPI<IRepo>('repos', {
      method: 'POST',
      body: JSON.stringify({ name, description })
    });
    await this.refresh();
    return repo;
  }

  /** Delete a repo (`force`: even if pipelines read it); the list drops it at once. */
  async remove(name: string, force = false): Promise<void> {
    await requestAPI<void>(apiPath('repos', name) + query({ force: force ? 1 : undefined }), {
      method: 'DELETE'
    });
    await this.refresh();
  }

  /** Create `repo@branch` at `head` (a ref: a branch or a commit id; none: an empty branch). */
  async createBranch(repo: string, branch: string, head: string | null): Promise<IBranch> {
    const info = await requestAPI<IBranch>(apiPath('repos', repo, 'branches', branch), {
      method: 'PUT',
      body: JSON.stringify(head ? { head } : {})
    });
    await this.refresh();
    return info;
  }

  /**
   * Upload files into `repo@branch`, one commit per file (the upload route writes one file per
   * request, as one commit), at the root of the repo, in order. Each commit's message is
   * `message` (default `upload <name>`; with several files, the file's name is appended). Stops
   * at the first error, which `upload.error` then shows.
   */
  async uploadFiles(
    repo: string,
    branch: string,
    files: IUploadFile[],
    message = ''
  ): Promise<ICommit[]> {
    const commits: ICommit[] = [];
    this._setUpload({ repo, branch, current: files[0]?.name ?? '', done: 0, total: files.length, error: null });
    for (const file of files) {
      this._setUpload({ ...this._upload!, current: file.name });
      try {
        const commit = await requestAPI<ICommit>(
          apiPath('repos', repo, 'branches', branch, 'files') +
            query({ path: `/${file.name}`, message: uploadMessage(message, file.name, files.length) }),
          {
            method: 'PUT',
            body: file.body as BodyInit,
            headers: { 'Content-Type': 'application/octet-stream' }
          }
        );
        commits.push(commit);
        this._setUpload({ ...this._upload!, done: commits.length });
      } catch (error) {
        this._setUpload({
          ...this._upload!,
          error: `Could not upload ${file.name} to ${repo}@${branch}: ${(error as Error).message}`
        });
        return commits;
      }
    }
    await this.refresh();
    return commits;
  }

  /** Forget the last upload's report. */
  clearUpload(): void {
    this._setUpload(null);
  }

  private _setUpload(state: IUploadState | null): void {
    this._upload = state;
    this._changed.emit();
  }

  private async _load(): Promise<void> {
    try {
      const { items } = await requestAPI<IItems<IRepo>>('repos');
      const missing = items.filter(r => r.last_commit && !this._commits.has(`${r.name}@${r.last_commit}`));
      const heads = await Promise.all(
        missing.map(r =>
          requestAPI<ICommit>(apiPath('repos', r.name, 'commits', r.last_commit!)).catch(() => null)
        )
      );
      heads.forEach(c => c && this._commits.set(`${c.repo}@${c.id}`, c));
      this._repos = [...items].sort((a, b) => a.name.localeCompare(b.name));
      this._error = null;
    } catch (error) {
      this._error = `Could not load the repos: ${(error as Error).message}`;
    }
    this._loaded = true;
    this._changed.emit();
  }

  private _filter = '';
  private _showInternal = false;
  private _repos: IRepo[] = [];
  private _commits = new Map<string, ICommit>();
  private _loaded = false;
  private _error: string | null = null;
  private _upload: IUploadState | null = null;
  private _refresher = new Refresher(() => this._load());
  private _changed = new Signal<this, void>(this);
}
