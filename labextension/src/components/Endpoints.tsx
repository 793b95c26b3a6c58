/**
 * The endpoints section: each service with the commit answering (and the branch head when it is
 * ahead), its request rate and errors, live; and a "try it" box that predicts through the
 * server and says which commit answered.
 */
import React, { useEffect, useMemo } from 'react';

import { shortId } from '../format';
import { behind, IService, ServingModel } from '../model/serving';
import { Empty, ErrorMessage, StateBadge } from './bits';
import { usePipes, useSignals } from './context';

const STATE: Record<string, 'success' | 'running' | 'failure' | 'idle'> = {
  ready: 'success',
  loading: 'running',
  draining: 'running',
  failing: 'failure',
  lost: 'failure',
  stopped: 'idle'
};

function TryIt({ serving, service }: { serving: ServingModel; service: IService }): JSX.Element {
  const trial = serving.trial(service.name);
  const answer = trial.prediction;
  return (
    <form
      className="jp-Pipes-tryIt"
      aria-label={`Try ${service.name}`}
      onSubmit={event => {
        event.preventDefault();
        void serving.predict(service.name);
      }}
    >
      <textarea
        className="jp-Pipes-tryBody jp-Pipes-mono"
        aria-label={`Request body for ${service.name}`}
        placeholder={'{"x": 1}  (JSON, or CSV with a header row)'}
        rows={3}
        value={trial.body}
        onChange={event => serving.setBody(service.name, event.target.value)}
      />
      <button className="jp-Pipes-button" type="submit" disabled={trial.running || !trial.body.trim()}>
        {trial.running ? 'Predicting…' : 'Predict'}
      </button>
      <ErrorMessage message={trial.error} />
      {answer ? (
        <div className="jp-Pipes-tryAnswer" role="status" data-commit={answer.commit ?? ''}>
          <span className="jp-Pipes-small">
            answered by <span className="jp-Pipes-mono">{service.ref.split('@')[0]}@{shortId(answer.commit)}</span>{' '}
            in {answer.ms.toFixed(1)} ms
          </span>
          <pre className="jp-Pipes-mono jp-Pipes-small">
            {JSON.stringify(answer.result, null, 1)}
          </pre>
        </div>
      ) : null}
    </form>
  );
}

function EndpointRow({ serving, service }: { serving: ServingModel; service: IService }): JSX.Element {
  const { model } = usePipes();
  const [open, setOpen] = React.useState(false);
  const live = service.replicas.filter(r => r.state !== 'stopped' && r.state !== 'lost').length;
  const repo = service.ref.split('@')[0];
  return (
    <li className="jp-Pipes-endpoint" data-service={service.name} data-state={service.state}>
      <div className="jp-Pipes-endpointLine">
        <StateBadge state={STATE[service.state] ?? 'idle'} label={service.state} />
        <span className="jp-Pipes-mono" title={service.urls.join(', ')}>
          {service.name}
        </span>
        <span className="jp-Pipes-small jp-Pipes-muted">{service.ref}</span>
      </div>
      <div className="jp-Pipes-small">
        answering:{' '}
        <button
          className="jp-Pipes-link jp-Pipes-mono"
          data-commit={service.commits[0] ?? ''}
          title="Show this commit in the history"
          onClick={() => service.commits[0] && void model.openCommit(repo, service.commits[0])}
        >
          {service.commits.map(c => shortId(c)).join(', ') || '—'}
        </button>
        {behind(service) ? (
          <span className="jp-Pipes-muted" title={service.last_error ?? 'swapping to the new head'}>
            {' '}
            (head {shortId(service.head)}: {service.last_error ? 'failed to load' : 'loading'})
          </span>
        ) : null}
      </div>
      <div className="jp-Pipes-small jp-Pipes-muted" data-rate={service.rate}>
        {service.rate.toFixed(1)} req/s · {service.requests} requests · {service.errors} errors ·{' '}
        {live} replica{live === 1 ? '' : 's'}
      </div>
      <ErrorMessage message={service.last_error} />
      <button className="jp-Pipes-link" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide try it' : 'Try it'}
      </button>
      {open ? <TryIt serving={serving} service={service} /> : null}
    </li>
  );
}

export function Endpoints(): JSX.Element {
  const serving = useMemo(() => new ServingModel(), []);
  useSignals(serving.changed);
  useEffect(() => {
    serving.start();
    return () => serving.stop();
  }, [serving]);
  if (!serving.loaded) {
    return <Empty>Loading endpoints…</Empty>;
  }
  return (
    <div className="jp-Pipes-endpoints">
      <ErrorMessage message={serving.error} />
      {serving.services.length === 0 ? (
        <Empty>
          No endpoint is running. Serve a model with <code>jupyter pipes serve model@master --notebook serve.ipynb</code>,
          or declare <code>serve:</code> in a pipeline spec.
        </Empty>
      ) : (
        <ul className="jp-Pipes-list" aria-label="Endpoints">
          {serving.services.map(s => (
            <EndpointRow key={s.name} serving={serving} service={s} />
          ))}
        </ul>
      )}
    </div>
  );
}
