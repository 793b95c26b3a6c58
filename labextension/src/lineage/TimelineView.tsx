/**
 * The branch timeline in the main area: every move of the head (when, why, who, the commit it
 * moved to), a strip of the history on a time axis, and "which commit was live at…" a moment
 * the user picks (the server answers from the head-move log).
 */
import React, { useState } from 'react';

import { exactTime, shortId } from '../format';
import { Empty, ErrorMessage, OriginBadge } from '../components/bits';
import { usePipes, useSignals } from '../components/context';
import { fetchHeadAt, IHeadAt, IHeadMove } from './api';
import { CommitLink, GlobalId } from './links';
import { Loader } from './loader';
import { localInputValue } from './tree';

const CAUSES: Record<string, string> = {
  commit: 'a user commit',
  pipeline: 'a pipeline’s output commit',
  revert: 'a revert',
  branch: 'the branch was made or moved',
  delete: 'a head commit, branch or repo was deleted',
  backfill: 'history from before the timeline existed'
};

function Strip({ moves, live }: { moves: IHeadMove[]; live: IHeadMove | null }): JSX.Element | null {
  if (moves.length < 2) {
    return null;
  }
  const times = moves.map(m => Date.parse(m.time));
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  const span = hi - lo || 1;
  const width = 600;
  return (
    <svg
      className="jp-PipesTimeline-strip"
      viewBox={`0 0 ${width + 20} 30`}
      role="img"
      aria-label="Head moves on a time axis"
    >
      <line x1={10} y1={15} x2={width + 10} y2={15} className="jp-PipesTimeline-axis" />
      {moves.map((m, i) => {
        const x = 10 + ((times[i] - lo) / span) * width;
        const isLive = live !== null && m.time === live.time && m.new === live.new;
        return (
          <circle
            key={i}
            cx={x}
            cy={15}
            r={isLive ? 7 : 5}
            className={`jp-PipesTimeline-tick jp-PipesTimeline-cause-${m.cause}${isLive ? ' jp-mod-live' : ''}`}
          >
            <title>{`${new Date(m.time).toLocaleString()}: ${m.cause} → ${shortId(m.new)}`}</title>
          </circle>
        );
      })}
    </svg>
  );
}

export function TimelineView(props: { repo: string; branch: string; loader: Loader<IHeadMove[]> }): JSX.Element {
  useSignals(props.loader.changed);
  usePipes();
  const [when, setWhen] = useState(localInputValue(new Date()));
  const [answer, setAnswer] = useState<IHeadAt | null>(null);
  const [error, setError] = useState<string | null>(null);
  const moves = props.loader.data;
  const ask = async () => {
    setError(null);
    try {
      const at = new Date(when);
      setAnswer(await fetchHeadAt(props.repo, props.branch, at.toISOString()));
    } catch (e) {
      setAnswer(null);
      setError((e as Error).message);
    }
  };
  const live = answer?.move ?? null;
  return (
    <div className="jp-PipesTimeline" aria-label={`Timeline of ${props.repo}@${props.branch}`}>
      <div className="jp-PipesLineage-header">
        <h2 className="jp-PipesLineage-title">
          Timeline of <span className="jp-Pipes-mono">{props.repo}@{props.branch}</span>
        </h2>
      </div>
      <form
        className="jp-PipesTimeline-ask"
        onSubmit={e => {
          e.preventDefault();
          void ask();
        }}
      >
        <label>
          Which commit was live at{' '}
          <input
            type="datetime-local"
            step={1}
            className="jp-PipesTimeline-when"
            aria-label="The moment"
            value={when}
            onChange={e => setWhen(e.target.value)}
          />
        </label>{' '}
        <button type="submit" className="jp-Pipes-button">
          Show
        </button>
      </form>
      <ErrorMessage message={error ?? props.loader.error} />
      {answer ? (
        <div className="jp-PipesTimeline-answer" role="status" data-commit={answer.commit?.id ?? ''}>
          {answer.commit ? (
            <>
              At {new Date(answer.time).toLocaleString()}, {props.repo}@{props.branch} was{' '}
              <CommitLink repo={props.repo} id={answer.commit.id} /> <OriginBadge origin={answer.commit.origin} />{' '}
              {answer.commit.message ? `“${answer.commit.message}”` : ''}
              {answer.commit.restores ? (
                <>
                  {' '}
                  (restores <CommitLink repo={props.repo} id={answer.commit.restores} />)
                </>
              ) : null}
              {answer.move ? (
                <span className="jp-Pipes-muted">
                  {' '}
                  · live since {new Date(answer.move.time).toLocaleString()} ({CAUSES[answer.move.cause] ?? answer.move.cause},
                  by {answer.move.actor})
                </span>
              ) : null}
            </>
          ) : (
            <>
              At {new Date(answer.time).toLocaleString()}, {props.repo}@{props.branch} had no commit.
            </>
          )}
        </div>
      ) : null}
      {!moves ? (
        props.loader.error ? null : <Empty>Loading the timeline…</Empty>
      ) : moves.length === 0 ? (
        <Empty>No head moves recorded for this branch.</Empty>
      ) : (
        <>
          <Strip moves={moves} live={live} />
          <table className="jp-PipesTimeline-moves" aria-label="Head moves, newest first">
            <thead>
              <tr>
                <th>time</th>
                <th>cause</th>
                <th>commit</th>
                <th>previous</th>
                <th>actor</th>
              </tr>
            </thead>
            <tbody>
              {moves.map((m, i) => (
                <tr
                  key={i}
                  data-cause={m.cause}
                  data-commit={m.new ?? ''}
                  className={live && live.time === m.time && live.new === m.new ? 'jp-mod-live' : ''}
                >
                  <td title={exactTime(m.time)}>{new Date(m.time).toLocaleString()}</td>
                  <td>
                    <span className={`jp-Pipes-badge jp-PipesTimeline-cause`} title={CAUSES[m.cause]}>
                      {m.cause}
                    </span>
                  </td>
                  <td>
                    <CommitLink repo={props.repo} id={m.new} />
                    <GlobalId id={m.global_id} />
                  </td>
                  <td>
                    <CommitLink repo={props.repo} id={m.old} />
                  </td>
                  <td>{m.actor}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
