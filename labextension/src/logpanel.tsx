/**
 * A log in a main-area tab: the log of a job (every datum) or of one datum. While the job runs
 * the tab follows it (the text reloads as datums finish and stays scrolled to the end, unless
 * the reader scrolled up).
 */
import { ReactWidget } from '@jupyterlab/apputils';
import React, { useEffect, useRef } from 'react';

import { StateBadge } from './components/bits';
import { useSignals } from './components/context';
import { jobNodeState, LogModel } from './model';

function LogView({ model }: { model: LogModel }): JSX.Element {
  useSignals(model.changed);
  const pre = useRef<HTMLPreElement>(null);
  const atEnd = useRef(true);
  useEffect(() => {
    const node = pre.current;
    if (node && atEnd.current) {
      node.scrollTop = node.scrollHeight;
    }
  });
  const job = model.job;
  return (
    <div className="jp-Pipes-logView">
      <div className="jp-Pipes-logHeader" role="status">
        {job ? <StateBadge state={jobNodeState(job.state)} label={job.state} /> : null}
        <span className="jp-Pipes-mono">
          {model.target.datum ? `datum ${model.target.datum.slice(0, 8)} of ` : ''}job{' '}
          {model.target.job.slice(0, 8)}
          {job ? ` (${job.pipeline})` : ''}
        </span>
        <span className="jp-Pipes-muted jp-Pipes-logFollow">
          {!model.loaded
            ? 'loading…'
            : model.following
              ? 'following: the log grows as datums finish'
              : 'the job has ended'}
        </span>
      </div>
      {model.error ? (
        <div className="jp-Pipes-error" role="alert">
          {model.error}
        </div>
      ) : null}
      <pre
        ref={pre}
        className="jp-Pipes-logText"
        tabIndex={0}
        aria-label={model.title}
        onScroll={e => {
          const n = e.currentTarget;
          atEnd.current = n.scrollTop + n.clientHeight >= n.scrollHeight - 4;
        }}
      >
        {model.loaded && !model.text ? '(nothing logged yet)' : model.text}
      </pre>
    </div>
  );
}

export class LogPanel extends ReactWidget {
  constructor(readonly model: LogModel) {
    super();
    this.addClass('jp-PipesLogPanel');
    model.changed.connect(() => {
      this.title.label = model.title;
    });
    this.title.label = model.title;
  }

  render(): JSX.Element {
    return <LogView model={this.model} />;
  }
}
