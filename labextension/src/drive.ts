/**
 * `pipes:`, a read-only JupyterLab Contents drive over the store, so stored files (CSV, images,
 * notebooks, text) and executed notebooks open in JupyterLab's own viewers. Paths are described
 * in `model/paths.ts`; every byte comes through the request module.
 */
import { Contents, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  DRIVE_NAME,
  baseName,
  fileKind,
  parseDrivePath
} from './model/paths';
import { ICommit, IFileInfo, IItems, IJob, IRepo } from './model/types';
import { apiUrl, requestAPI, requestBytes } from './request';
import { apiPath, query } from './url';

const EPOCH = new Date(0).toISOString();

/** The error of every write: the store is changed by commits, not by saving files. */
export class ReadOnlyError extends Error {
  constructor(path: string) {
    super(
      `${DRIVE_NAME}:${path} is read-only: stored files change only by new commits ` +
        '(drop files on a branch in the Pipes sidebar, or use File › Save As to keep a copy).'
    );
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) {
    binary += String.fromCharCode(...bytes.subarray(i, i + step));
  }
  return btoa(binary);
}

/** UTF-8 text of `bytes`, or `null` when they are not text. */
function asText(bytes: Uint8Array): string | null {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.includes('\0') ? null : text;
  } catch {
    return null;
  }
}

/**
 * An executed notebook as JupyterLab should open it: trusted (jupyter_pipes wrote its outputs
 * by running the pipeline's own notebook, as a person running it would have), so rich outputs
 * render and no "rerun this cell" appears. JupyterLab reads trust from each code cell's
 * `metadata.trusted`, as the server's contents manager sets it after checking a signature.
 */
export function trustNotebook(content: any): any {
  if (content && Array.isArray(content.cells)) {
    for (const cell of content.cells) {
      if (cell && cell.cell_type === 'code') {
        cell.metadata = { ...(cell.metadata ?? {}), trusted: true };
      }
    }
  }
  return content;
}

export interface IPipesDriveOptions {
  /** Whether `repo@branch` is left out of the drive's root (internal branches, on request). */
  hidden?: (repo: string, branch: string) => boolean;
}

export class PipesDrive implements Contents.IDrive {
  constructor(options: IPipesDriveOptions = {}) {
    this._hidden = options.hidden ?? (() => false);
  }

  readonly name = DRIVE_NAME;
  readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings();

  get fileChanged(): ISignal<this, Contents.IChangedArgs> {
    return this._fileChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    Signal.clearData(this);
  }

  async get(localPath: string, options: Contents.IFetchOptions = {}): Promise<Contents.IModel> {
    const where = parseDrivePath(localPath);
    switch (where.kind) {
      case 'root':
        return this._root(options.content !== false);
      case 'notebook':
        return this._notebook(localPath, where.job, where.datum, options);
      case 'file':
        return this._entry(localPath, where.repo, where.ref, where.path, options);
      default:
        throw new Error(where.reason);
    }
  }

  async getDownloadUrl(localPath: string): Promise<string> {
    const where = parseDrivePath(localPath);
    if (where.kind === 'file') {
      return apiUrl(
        apiPath('repos', where.repo, 'commits', where.ref, 'raw') +
          query({ path: where.path, download: 1 })
      );
    }
    if (where.kind === 'notebook') {
      return apiUrl(
        apiPath('jobs', where.job, 'datums', where.datum, 'notebook') + query({ download: 1 })
      );
    }
    throw new Error(`${DRIVE_NAME}:${localPath} cannot be downloaded`);
  }

  async newUntitled(): Promise<Contents.IModel> {
    throw new ReadOnlyError('');
  }

  async delete(localPath: string): Promise<void> {
    throw new ReadOnlyError(localPath);
  }

  async rename(oldLocalPath: string): Promise<Contents.IModel> {
    throw new ReadOnlyError(oldLocalPath);
  }

  async save(localPath: string): Promise<Contents.IModel> {
    throw new ReadOnlyError(localPath);
  }

  async copy(localPath: string): Promise<Contents.IModel> {
    throw new ReadOnlyError(localPath);
  }

  async createCheckpoint(localPath: string): Promise<Contents.ICheckpointModel> {
    throw new ReadOnlyError(localPath);
  }

  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }

  async restoreCheckpoint(localPath: string): Promise<void> {
    throw new ReadOnlyError(localPath);
  }

  async deleteCheckpoint(localPath: string): Promise<void> {
    throw new ReadOnlyError(localPath);
  }

  private async _root(withContent: boolean): Promise<Contents.IModel> {
    const dir = this._dir('', EPOCH);
    if (!withContent) {
      return dir;
    }
    const { items } = await requestAPI<IItems<IRepo>>('repos');
    const content = items.flatMap(repo =>
      repo.branches.filter(branch => !this._hidden(repo.name, branch)).map(branch => ({
        ...this._dir(`${repo.name}@${branch}`, repo.created),
        content: null
      }))
    );
    return { ...dir, content };
  }

  private async _entry(
    localPath: string,
    repo: string,
    ref: string,
    path: string,
    options: Contents.IFetchOptions
  ): Promise<Contents.IModel> {
    const base = apiPath('repos', repo, 'commits', ref);
    const [commit, listing] = await Promise.all([
      requestAPI<ICommit>(base),
      requestAPI<IItems<IFileInfo>>(`${base}/files${query({ path })}`)
    ]);
    const when = commit.finished ?? commit.started;
    const prefix = `${repo}@${ref}`;
    const self = listing.items.length === 1 ? listing.items[0] : null;
    const isFile = self !== null && self.type === 'file' && self.path === path;
    if (!isFile) {
      const dir = this._dir(localPath.replace(/\/+$/, ''), when);
      if (options.content === false) {
        return dir;
      }
      const content = listing.items.map(f => {
        const child = `${prefix}${f.path.replace(/\/+$/, '')}`;
        return f.type === 'dir'
          ? { ...this._dir(child, when), content: null }
          : this._file(child, f.size_bytes, when, null, null);
      });
      return { ...dir, content };
    }
    if (options.content === false) {
      return this._file(localPath, self.size_bytes, when, null, null);
    }
    const bytes = new Uint8Array(await requestBytes(`${base}/raw${query({ path })}`));
    return this._withContent(localPath, bytes, when, options);
  }

  private async _notebook(
    localPath: string,
    job: string,
    datum: string,
    options: Contents.IFetchOptions
  ): Promise<Contents.IModel> {
    const [info, raw] = await Promise.all([
      requestAPI<IJob>(apiPath('jobs', job)),
      requestBytes(apiPath('jobs', job, 'datums', datum, 'notebook'))
    ]);
    // when the notebook was written: its job's end (or start, while it runs)
    const when = info.finished ?? info.started ?? info.created;
    const bytes = new Uint8Array(raw);
    if (options.content === false) {
      return this._file(localPath, bytes.length, when, null, null);
    }
    const model = this._withContent(localPath, bytes, when, options);
    if (model.format === 'json') {
      trustNotebook(model.content);
    }
    return model;
  }

  /** A file model whose content has the format JupyterLab asked for (or the natural one). */
  private _withContent(
    localPath: string,
    bytes: Uint8Array,
    when: string,
    options: Contents.IFetchOptions
  ): Contents.IModel {
    const kind = fileKind(localPath).kind;
    let format: Contents.FileFormat =
      options.format ?? (kind === 'notebook' ? 'json' : kind === 'image' ? 'base64' : 'text');
    if (format === 'json') {
      const text = asText(bytes);
      if (text === null) {
        throw new Error(`${DRIVE_NAME}:${localPath} is not JSON`);
      }
      return this._file(localPath, bytes.length, when, JSON.parse(text), 'json');
    }
    if (format === 'text') {
      const text = asText(bytes);
      if (text !== null) {
        return this._file(localPath, bytes.length, when, text, 'text');
      }
      if (options.format === 'text') {
        throw new Error(`${DRIVE_NAME}:${localPath} is a binary file: download it instead`);
      }
      format = 'base64';
    }
    return this._file(localPath, bytes.length, when, toBase64(bytes), 'base64');
  }

  private _dir(path: string, when: string): Contents.IModel {
    return {
      name: path === '' ? '' : baseName(path),
      path,
      type: 'directory',
      writable: false,
      created: when,
      last_modified: when,
      mimetype: '',
      content: null,
      format: 'json'
    };
  }

  private _file(
    path: string,
    size: number,
    when: string,
    content: unknown,
    format: Contents.FileFormat
  ): Contents.IModel {
    const { kind, mimetype } = fileKind(path);
    return {
      name: baseName(path),
      path,
      type: kind === 'notebook' ? 'notebook' : 'file',
      writable: false,
      created: when,
      last_modified: when,
      mimetype,
      content,
      format,
      size
    };
  }

  private _hidden: (repo: string, branch: string) => boolean;
  private _disposed = false;
  private _fileChanged = new Signal<this, Contents.IChangedArgs>(this);
}
