/**
 * The selected commit's diff against its parent: each added, removed or modified path; a text
 * file's line diff opens on demand.
 */
import React, { useState } from 'react';

import { formatSize } from '../format';
import { IDiffEntry } from '../model';
import { Empty } from './bits';
import { usePipes } from './context';

function LineDiff({ path }: { path: string }): JSX.Element | null {
  const { model } = usePipes();
  const diff = model.history.fileDiff(path);
  if (!diff) {
    return null;
  }
  if (diff.state === 'loading') {
    return <Empty>Comparing…</Empty>;
  }
  if (diff.state === 'unavailable') {
    return <Empty>No line diff: {diff.reason}.</Empty>;
  }
  return (
    <div className="jp-Pipes-lineDiff" aria-label={`Line diff of ${path}`}>
      <div className="jp-Pipes-small">
        +{diff.added} −{diff.removed} lines
      </div>
      {diff.hunks.map((h, i) => (
        <pre key={i} className="jp-Pipes-hunk">
          {h.lines.map((l, j) => (
            <div key={j} className={`jp-Pipes-diffLine jp-Pipes-diff-${l.kind === '+' ? 'add' : l.kind === '-' ? 'del' : 'ctx'}`}>
              {l.kind} {l.text}
            </div>
          ))}
        </pre>
      ))}
    </div>
  );
}

function DiffEntry({ entry }: { entry: IDiffEntry }): JSX.Element {
  const { model } = usePipes();
  const [open, setOpen] = useState(false);
  const isFile = !entry.path.endsWith('/');
  const size = formatSize((entry.new ?? entry.old)?.size_bytes ?? 0);
  const sizes =
    entry.change === 'modified'
      ? `${formatSize(entry.old?.size_bytes ?? 0)} → ${formatSize(entry.new?.size_bytes ?? 0)}`
      : size;
  return (
    <li className="jp-Pipes-diffEntry" data-change={entry.change} data-path={entry.path}>
      <div className="jp-Pipes-row">
        <span className={`jp-Pipes-badge jp-Pipes-change jp-Pipes-change-${entry.change}`}>
          {entry.change}
        </span>
        {isFile ? (
          <button
            className="jp-Pipes-link"
            aria-expanded={open}
            title="Show the line diff"
            aria-label={`Line diff of ${entry.path}`}
            onClick={() => {
              if (!open && !model.history.fileDiff(entry.path)) {
                void model.history.loadFileDiff(entry);
              }
              setOpen(!open);
            }}
          >
            {entry.path}
          </button>
        ) : (
          <span>{entry.path}</span>
        )}
        <span className="jp-Pipes-muted" title={sizes}>
          {size}
        </span>
      </div>
      {open ? <LineDiff path={entry.path} /> : null}
    </li>
  );
}

export function DiffList(): JSX.Element {
  const { model } = usePipes();
  const diff = model.history.selection?.diff;
  if (!diff) {
    return <Empty>Loading…</Empty>;
  }
  if (diff.length === 0) {
    return <Empty>No changes: the same files as the parent.</Empty>;
  }
  return (
    <ul className="jp-Pipes-list jp-Pipes-diff" aria-label="Diff against the parent">
      {diff.map(e => (
        <DiffEntry key={e.path} entry={e} />
      ))}
    </ul>
  );
}
