/**
 * "Why did it change": two versions of a result compared through their lineages. Only what
 * differs is listed, each indented by how far upstream it is; images show side by side; the
 * parts that are the same are collapsed into one list. Two commits of a pipeline output with
 * metrics show their metrics first ("why did the metric change").
 */
import React, { useEffect, useState } from 'react';

import { shortId } from '../format';
import { Empty, ErrorMessage } from '../components/bits';
import { usePipes, useSignals } from '../components/context';
import { requestBytes } from '../request';
import { apiPath, query } from '../url';
import { IDifference, IExplanation, ITableDiff } from './api';
import { CommitLink, CommitNote, DatumLink } from './links';
import { Loader } from './loader';
import { MetricChanges } from './MetricsView';
import { isImage, splitKey, unifiedLines } from './tree';

const KIND_TITLES: Record<string, string> = {
  result: 'the compared versions themselves',
  upstream: 'an input read from another pipeline’s output, at another commit',
  file: 'an input data file added, removed or changed',
  notebook: 'code cells of the pipeline’s notebook',
  parameters: 'the pipeline’s parameters',
  spec: 'other fields of the pipeline’s spec',
  pipeline: 'made by another pipeline'
};

/** A stored image, fetched with the extension's credentials. */
function StoredImage(props: { repo: string; commit: string; path: string; label: string }): JSX.Element {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    requestBytes(apiPath('repos', props.repo, 'commits', props.commit, 'raw') + query({ path: props.path }))
      .then(bytes => {
        if (live) {
          url = URL.createObjectURL(new Blob([bytes]));
          setSrc(url);
        }
      })
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
      if (url) {
        URL.revokeObjectURL(url);
      }
    };
  }, [props.repo, props.commit, props.path]);
  return (
    <figure className="jp-PipesExplain-image">
      {src ? (
        <img src={src} alt={`${props.path} at ${props.repo}@${shortId(props.commit)}`} />
      ) : (
        <Empty>{failed ? 'not in this version' : 'Loading…'}</Empty>
      )}
      <figcaption>
        {props.label} <CommitLink repo={props.repo} id={props.commit} />
      </figcaption>
    </figure>
  );
}

function SideBySide(props: { repo: string; path: string; older: string | null; newer: string | null }): JSX.Element {
  return (
    <div className="jp-PipesExplain-images" aria-label={`${props.path}, before and after`} data-path={props.path}>
      {props.older ? <StoredImage repo={props.repo} commit={props.older} path={props.path} label="before" /> : null}
      {props.newer ? <StoredImage repo={props.repo} commit={props.newer} path={props.path} label="after" /> : null}
    </div>
  );
}

function TableStats({ table }: { table: ITableDiff }): JSX.Element {
  if (table.note) {
    return <div className="jp-Pipes-muted">{table.note}</div>;
  }
  const sample = (rows: string[][], kind: 'add' | 'del') =>
    rows.length ? (
      <table className={`jp-PipesExplain-rows jp-PipesExplain-rows-${kind}`}>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td>{kind === 'add' ? '+' : '−'}</td>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    ) : null;
  return (
    <div className="jp-PipesExplain-table">
      <div className="jp-Pipes-small">
        {table.format.toUpperCase()}: <strong>+{table.rows_added}</strong> −{table.rows_removed} rows (
        {table.rows_old} → {table.rows_new})
        {table.columns_added.length ? `; columns added: ${table.columns_added.join(', ')}` : ''}
        {table.columns_removed.length ? `; columns removed: ${table.columns_removed.join(', ')}` : ''}
      </div>
      {sample(table.sample_added, 'add')}
      {sample(table.sample_removed, 'del')}
    </div>
  );
}

function StepLinks({ d }: { d: IDifference }): JSX.Element | null {
  const link = (key: string | null, label: string) => {
    if (!key || !d.pipeline) {
      return null;
    }
    const [job, datum] = key.split('/');
    return (
      <span>
        {label} <DatumLink pipeline={d.pipeline} job={job} datum={datum} hasNotebook={false} />
      </span>
    );
  };
  if (!d.old_step && !d.new_step) {
    return null;
  }
  return (
    <div className="jp-Pipes-small jp-PipesExplain-steps">
      {link(d.old_step, 'before:')} {link(d.new_step, 'after:')}
    </div>
  );
}

function DifferenceItem({ d }: { d: IDifference }): JSX.Element {
  const isSpec = d.kind === 'notebook' || d.kind === 'parameters' || d.kind === 'spec';
  const commitRepo = d.kind === 'notebook' || d.kind === 'parameters' ? d.pipeline : (d.repo ?? d.pipeline);
  const images =
    d.repo && d.kind !== 'upstream' && isImage(d.path) ? [d.path!] : d.files.filter(f => isImage(f.path)).map(f => f.path);
  return (
    <li
      className={`jp-PipesExplain-difference jp-PipesExplain-${d.kind}`}
      data-kind={d.kind}
      data-repo={d.repo ?? ''}
      data-path={d.path ?? ''}
      style={{ marginLeft: `${d.depth * 20}px` }}
    >
      <div className="jp-PipesLineage-row">
        <span className={`jp-Pipes-badge jp-PipesExplain-kind`} title={KIND_TITLES[d.kind]}>
          {d.kind}
        </span>
        <span className="jp-PipesExplain-summary">{d.summary}</span>
      </div>
      {commitRepo && (d.old_commit || d.new_commit) ? (
        <div className="jp-Pipes-small">
          {isSpec ? 'spec ' : ''}
          <CommitLink repo={commitRepo} id={d.old_commit} /> → <CommitLink repo={commitRepo} id={d.new_commit} />
        </div>
      ) : null}
      {d.old_writer ? (
        <div className="jp-Pipes-small">
          before: <CommitNote commit={d.old_writer} />
        </div>
      ) : null}
      {d.new_writer ? (
        <div className="jp-Pipes-small">
          after: <CommitNote commit={d.new_writer} />
        </div>
      ) : null}
      {d.kind === 'result' ? <StepLinks d={d} /> : null}
      {d.table ? <TableStats table={d.table} /> : null}
      {d.files.length ? (
        <ul className="jp-PipesExplain-files">
          {d.files.slice(0, 50).map(f => (
            <li key={f.path} data-change={f.change}>
              <span className={`jp-Pipes-badge jp-Pipes-change jp-Pipes-change-${f.change}`}>{f.change}</span>{' '}
              <span className="jp-Pipes-mono">{f.path}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {d.fields.length ? (
        <table className="jp-PipesExplain-fields">
          <tbody>
            {d.fields.map(f => (
              <tr key={f.field}>
                <td className="jp-Pipes-mono">{f.field}</td>
                <td className="jp-Pipes-mono">{JSON.stringify(f.old) ?? '–'}</td>
                <td>→</td>
                <td className="jp-Pipes-mono">{JSON.stringify(f.new) ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {d.cells.map((c, i) => (
        <div key={i} className="jp-PipesExplain-cell" data-change={c.change}>
          <div className="jp-Pipes-small">
            code cell {c.change}
            {c.old_index !== null ? ` (was cell ${c.old_index})` : ''}
            {c.new_index !== null ? ` (now cell ${c.new_index})` : ''}
          </div>
          <pre className="jp-Pipes-hunk">
            {unifiedLines(c.diff).map((l, j) => (
              <div key={j} className={`jp-Pipes-diffLine jp-Pipes-diff-${l.kind === 'hunk' ? 'ctx' : l.kind}`}>
                {l.text}
              </div>
            ))}
          </pre>
        </div>
      ))}
      {images.slice(0, 4).map(path =>
        d.repo ? <SideBySide key={path} repo={d.repo} path={path} older={d.old_commit} newer={d.new_commit} /> : null
      )}
    </li>
  );
}

export function ExplainView({ loader }: { loader: Loader<IExplanation> }): JSX.Element {
  useSignals(loader.changed);
  const { model } = usePipes();
  const isOutput = (repo: string): boolean => {
    const node = model.dag.node(`repo:${repo}`);
    return !!node && node.kind === 'repo' && !!node.output_of;
  };
  const ex = loader.data;
  const older = ex ? (ex.old.includes(':') ? splitKey(ex.old) : null) : null;
  const refOf = (text: string) => {
    const [repo, rest] = text.split('@');
    return { repo, id: rest.split(':')[0] };
  };
  return (
    <div className="jp-PipesExplain" aria-label="Why did it change">
      <ErrorMessage message={loader.error} />
      {!ex ? (
        loader.error ? null : <Empty>Comparing the two lineages…</Empty>
      ) : (
        <>
          <div className="jp-PipesLineage-header">
            <h2 className="jp-PipesLineage-title">
              Why did {older ? <span className="jp-Pipes-mono">{older.path}</span> : 'it'} change?
            </h2>
          </div>
          <div className="jp-Pipes-small jp-PipesExplain-versions">
            <CommitLink repo={refOf(ex.old).repo} id={refOf(ex.old).id} /> →{' '}
            <CommitLink repo={refOf(ex.new).repo} id={refOf(ex.new).id} />
            {ex.same_content ? <span className="jp-Pipes-badge">same content</span> : null}
          </div>
          {!ex.old.includes(':') && isOutput(refOf(ex.old).repo) ? <MetricChanges older={ex.old} newer={ex.new} /> : null}
          {ex.differences.length === 0 ? (
            <Empty>No differences in their lineages.</Empty>
          ) : (
            <ul className="jp-PipesExplain-differences" aria-label="Differences">
              {ex.differences.map((d, i) => (
                <DifferenceItem key={i} d={d} />
              ))}
            </ul>
          )}
          {ex.unchanged.length ? (
            <details className="jp-PipesExplain-unchanged">
              <summary>
                {ex.unchanged.length} part{ex.unchanged.length === 1 ? '' : 's'} unchanged
              </summary>
              <ul>
                {ex.unchanged.map(u => (
                  <li key={u}>{u}</li>
                ))}
              </ul>
            </details>
          ) : null}
        </>
      )}
    </div>
  );
}
