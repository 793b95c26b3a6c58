/**
 * Paths of the read-only `pipes:` drive, so JupyterLab's own viewers open stored files:
 *
 * - `pipes:` lists every `repo@branch`;
 * - `pipes:repo@ref/dir/file.csv` is a file of a commit (`ref`: a commit id, a branch,
 *   `master^2`...);
 * - `pipes:jobs/<job>/<datum>/<name>.ipynb` is the executed notebook of a datum (`name` only
 *   titles the tab: JupyterLab names a document's tab after its path, and renaming the tab
 *   would rename the file).
 */

export const DRIVE_NAME = 'pipes';

export type DrivePath =
  | { kind: 'root' }
  | { kind: 'file'; repo: string; ref: string; path: string }
  | { kind: 'notebook'; job: string; datum: string }
  | { kind: 'invalid'; reason: string };

/** `pipes:repo@ref/path` of a stored file (`path` absolute in the repo: `/dir/a.csv`). */
export function filePath(repo: string, ref: string, path: string): string {
  const inRepo = path.replace(/^\/+/, '').replace(/\/+$/, '');
  return `${DRIVE_NAME}:${repo}@${ref}${inRepo ? '/' + inRepo : ''}`;
}

/** `pipes:jobs/<job>/<datum>/<pipeline>-<datum8>.ipynb`: a datum's executed notebook. */
export function notebookPath(job: string, datum: string, pipeline = 'datum'): string {
  const name = `${pipeline}-${datum.slice(0, 8)}`.replace(/[^\w.-]/g, '_');
  return `${DRIVE_NAME}:jobs/${job}/${datum}/${name}.ipynb`;
}

/** What a drive-local path (no `pipes:` prefix, no leading slash) names. */
export function parseDrivePath(localPath: string): DrivePath {
  const path = localPath.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '') {
    return { kind: 'root' };
  }
  const segments = path.split('/');
  const head = segments[0];
  const at = head.indexOf('@');
  if (at > 0 && at < head.length - 1) {
    return {
      kind: 'file',
      repo: head.slice(0, at),
      ref: head.slice(at + 1),
      path: '/' + segments.slice(1).join('/')
    };
  }
  const nb = /^jobs\/([^/]+)\/([^/]+)\/[^/]+\.ipynb$/.exec(path);
  if (nb) {
    return { kind: 'notebook', job: nb[1], datum: nb[2] };
  }
  return {
    kind: 'invalid',
    reason: `${DRIVE_NAME}:${path} is not a stored file: paths look like ${DRIVE_NAME}:repo@branch/dir/file`
  };
}

/** The last segment of a path. */
export function baseName(path: string): string {
  const parts = path.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1];
}

const IMAGES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bmp: 'image/bmp',
  webp: 'image/webp',
  ico: 'image/x-icon',
  svg: 'image/svg+xml'
};

const TEXT: Record<string, string> = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  txt: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  json: 'application/json',
  jsonl: 'text/plain',
  yaml: 'text/x-yaml',
  yml: 'text/x-yaml',
  py: 'text/x-python',
  r: 'text/x-rsrc',
  sh: 'text/x-sh',
  toml: 'text/plain',
  ini: 'text/plain',
  cfg: 'text/plain',
  xml: 'application/xml',
  html: 'text/html',
  js: 'text/javascript',
  ts: 'text/typescript',
  sql: 'text/x-sql'
};

/** How a file is handed to JupyterLab: notebook (JSON), image (base64), text, or binary. */
export function fileKind(path: string): { kind: 'notebook' | 'image' | 'text' | 'binary'; mimetype: string } {
  const ext = baseName(path).toLowerCase().split('.').slice(1).pop() ?? '';
  if (ext === 'ipynb') {
    return { kind: 'notebook', mimetype: 'application/x-ipynb+json' };
  }
  if (ext in IMAGES) {
    return { kind: 'image', mimetype: IMAGES[ext] };
  }
  if (ext in TEXT) {
    return { kind: 'text', mimetype: TEXT[ext] };
  }
  return { kind: 'binary', mimetype: 'application/octet-stream' };
}

/** True when JupyterLab has a viewer for this file (notebooks, images and text). */
export function canOpen(path: string): boolean {
  return fileKind(path).kind !== 'binary';
}
