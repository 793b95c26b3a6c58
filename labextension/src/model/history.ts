/**
 * The commit history of one branch (paginated, newest first) and the selected commit: its
 * lineage, its files, its diff against its parent and, on demand, line diffs of text files.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI, requestBytes } from '../request';
import { apiPath, query } from '../url';
import { filterCommits } from './filters';
import { Refresher } from './refresher';
import { diffLines, hunks, IHunk, splitLines } from './textdiff';
import { ICommit, ICommitDetail, IDiffEntry, IFileInfo, IItems, IPage } from './types';

export const PAGE_SIZE = 20;
/** Larger files are not line-diffed in the browser. */
export const MAX_TEXT_DIFF_BYTES = 512 * 1024;

export type FileDiff =
  | { state: 'loading' }
  | { state: 'ready'; hunks: IHunk[]; added: number; removed: number }
  | { state: 'unavailable'; reason: string };

export interface ISelection {
  commit: ICommitDetail;
  files: IFileInfo[] | null;
  diff: IDiffEntry[] | null;
  error: string | null;
}

export class HistoryModel {
  constructor(readonly pageSize = PAGE_SIZE) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get repo(): string | null {
    return this._repo;
  }

  get branch(): string | null {
    return this._branch;
  }

  get commits(): ICommit[] {
    return this._commits;
  }

  /** The search over the loaded commits (message words, id prefixes). */
  get filter(): string {
    return this._filter;
  }

  /** The loaded commits the search keeps. */
  get visible(): ICommit[] {
    return filterCommits(this._commits, this._filter);
  }

  setFilter(query: string): void {
    if (query !== this._filter) {
      this._filter = query;
      this._changed.emit();
    }
  }

  /** True when older commits can be loaded. */
  get hasMore(): boolean {
    return this._nextOffset !== null;
  }

  get loading(): boolean {
    return this._inflight > 0;
  }

  get error(): string | null {
    return this._error;
  }

  get selection(): ISelection | null {
    return this._selection;
  }

  fileDiff(path: string): FileDiff | undefined {
    return this._fileDiffs.get(path);
  }

  /** Show the history of `repo@branch` (its first page); `null` shows nothing. */
  async show(repo: string | null, branch: string | null = null): Promise<void> {
    if (repo === this._repo && branch === this._branch && this._commits.length) {
      return;
    }
    this._repo = repo;
    this._branch = branch;
    this._commits = [];
    this._nextOffset = null;
    this._error = null;
    this._selection = null;
    this._fileDiffs.clear();
    this._changed.emit();
    if (repo) {
      await this._fetch(0, this.pageSize, false);
    }
  }

  /** Load the next (older) page. */
  async loadMore(): Promise<void> {
    if (this._nextOffset === null || this._inflight > 0) {
      return;
    }
    await this._fetch(this._nextOffset, this.pageSize, true);
  }

  /**
   * Reload what is shown after the branch moved (coalesced): as many commits as are loaded, from
   * the newest, in one request, so a new head appears on top and nothing loaded disappears.
   */
  refresh(): Promise<void> {
    return this._refresher.request();
  }

  /** Select a commit (of this repo or another: provenance links lead anywhere). */
  async select(repo: string, id: string): Promise<void> {
    const base = apiPath('repos', repo, 'commits', id);
    this._fileDiffs.clear();
    try {
      const commit = await requestAPI<ICommitDetail>(base);
      this._selection = { commit, files: null, diff: null, error: null };
      this._changed.emit();
      const [files, diff] = await Promise.all([
        requestAPI<IItems<IFileInfo>>(`${base}/files${query({ path: '/', recursive: 1 })}`),
        requestAPI<IItems<IDiffEntry>>(`${base}/diff`)
      ]);
      if (this._selection?.commit.id === commit.id) {
        this._selection = { ...this._selection, files: files.items, diff: diff.items };
      }
    } catch (error) {
      const message = `Could not load commit ${repo}@${id}: ${(error as Error).message}`;
      this._selection = this._selection?.commit.id.startsWith(id)
        ? { ...this._selection, error: message }
        : null;
      this._error = this._selection ? this._error : message;
    }
    this._changed.emit();
  }

  clearSelection(): void {
    this._selection = null;
    this._fileDiffs.clear();
    this._changed.emit();
  }

  /** Compute the line diff of a modified text file of the selected commit against its parent. */
  async loadFileDiff(entry: IDiffEntry): Promise<void> {
    const sel = this._selection;
    if (!sel) {
      return;
    }
    const { repo, id, parent } = sel.commit;
    const size = Math.max(entry.old?.size_bytes ?? 0, entry.new?.size_bytes ?? 0);
    if (size > MAX_TEXT_DIFF_BYTES) {
      this._setFileDiff(entry.path, { state: 'unavailable', reason: 'too large to compare here' });
      return;
    }
    this._setFileDiff(entry.path, { state: 'loading' });
    const raw = (ref: string) =>
      requestBytes(apiPath('repos', repo, 'commits', ref, 'raw') + query({ path: entry.path }));
    try {
      const [oldBytes, newBytes] = await Promise.all([
        entry.old && parent ? raw(parent) : Promise.resolve(new ArrayBuffer(0)),
        entry.new ? raw(id) : Promise.resolve(new ArrayBuffer(0))
      ]);
      const decode = (b: ArrayBuffer) => new TextDecoder('utf-8', { fatal: true }).decode(b);
      let oldText: string;
      let newText: string;
      try {
        oldText = decode(oldBytes);
        newText = decode(newBytes);
      } catch {
        this._setFileDiff(entry.path, { state: 'unavailable', reason: 'binary file' });
        return;
      }
      const lines = diffLines(splitLines(oldText), splitLines(newText));
      this._setFileDiff(entry.path, {
        state: 'ready',
        hunks: hunks(lines),
        added: lines.filter(l => l.kind === '+').length,
        removed: lines.filter(l => l.kind === '-').length
      });
    } catch (error) {
      this._setFileDiff(entry.path, { state: 'unavailable', reason: (error as Error).message });
    }
  }

  private _setFileDiff(path: string, diff: FileDiff): void {
    this._fileDiffs.set(path, diff);
    this._changed.emit();
  }

  private async _reload(): Promise<void> {
    if (!this._repo) {
      return;
    }
    const count = Math.max(this.pageSize, this._commits.length);
    await this._fetch(0, Math.min(count, 1000), false);
  }

  private async _fetch(offset: number, limit: number, append: boolean): Promise<void> {
    const repo = this._repo!;
    const branch = this._branch;
    this._inflight += 1;
    this._changed.emit();
    try {
      const page = await requestAPI<IPage<ICommit>>(
        apiPath('repos', repo, 'commits') + query({ branch, limit, offset })
      );
      if (repo !== this._repo || branch !== this._branch) {
        return; // the user moved on meanwhile
      }
      if (append) {
        const known = new Set(this._commits.map(c => c.id));
        this._commits = [...this._commits, ...page.items.filter(c => !known.has(c.id))];
      } else {
        this._commits = page.items;
      }
      this._nextOffset = page.next_offset;
      this._error = null;
    } catch (error) {
      if (repo === this._repo && branch === this._branch) {
        this._error = `Could not load the history of ${repo}${branch ? '@' + branch : ''}: ${
          (error as Error).message
        }`;
      }
    } finally {
      this._inflight -= 1;
      this._changed.emit();
    }
  }

  private _filter = '';
  private _repo: string | null = null;
  private _branch: string | null = null;
  private _commits: ICommit[] = [];
  private _nextOffset: number | null = null;
  private _inflight = 0;
  private _error: string | null = null;
  private _selection: ISelection | null = null;
  private _fileDiffs = new Map<string, FileDiff>();
  private _refresher = new Refresher(() => this._reload());
  private _changed = new Signal<this, void>(this);
}
