/**
 * The log of a job (every datum) or of one datum, for a main-area tab. While the job runs the
 * log follows it: each progress event of that job reloads the text (coalesced), and the tab
 * says whether it is still following.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI, requestBytes } from '../request';
import { apiPath } from '../url';
import { Refresher } from './refresher';
import { IJob } from './types';

export interface ILogTarget {
  job: string;
  /** A datum of the job; none: the whole job. */
  datum?: string | null;
}

/** A stable id of a log target (one tab per target). */
export function logKey(target: ILogTarget): string {
  return target.datum ? `${target.job}/${target.datum}` : target.job;
}

export class LogModel {
  constructor(readonly target: ILogTarget) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The log's text (`''` before the first load). */
  get text(): string {
    return this._text;
  }

  get error(): string | null {
    return this._error;
  }

  get loaded(): boolean {
    return this._loaded;
  }

  /** The job, as last seen (its state says whether the log still grows). */
  get job(): IJob | null {
    return this._job;
  }

  /** True while the job runs: the text reloads as datums finish. */
  get following(): boolean {
    return !!this._job && !this._job.done;
  }

  /** A title for the tab: `Log: predict 1a2b3c4d` or `Log: datum 5e6f7a8b`. */
  get title(): string {
    const job = this.target.job.slice(0, 8);
    if (this.target.datum) {
      return `Log: datum ${this.target.datum.slice(0, 8)}`;
    }
    return `Log: ${this._job ? this._job.pipeline + ' ' : ''}${job}`;
  }

  /** Load the job and the text again (coalesced). */
  refresh(): Promise<void> {
    return this._refresher.request();
  }

  /** A job event: when it is this log's job and it moved on, reload. */
  applyJob(job: IJob): void {
    if (job.id !== this.target.job) {
      return;
    }
    const key = (j: IJob | null) =>
      j ? `${j.state}/${j.processed}/${j.skipped}/${j.failed}` : '';
    const moved = key(job) !== key(this._job);
    this._job = job;
    if (moved) {
      void this.refresh();
    } else {
      this._changed.emit();
    }
  }

  private async _load(): Promise<void> {
    const { job, datum } = this.target;
    const path = datum ? apiPath('jobs', job, 'datums', datum, 'log') : apiPath('jobs', job, 'logs');
    try {
      const [info, bytes] = await Promise.all([
        requestAPI<IJob>(apiPath('jobs', job)),
        requestBytes(path)
      ]);
      this._job = info;
      this._text = new TextDecoder().decode(bytes);
      this._error = null;
    } catch (error) {
      this._error = `Could not load the log: ${(error as Error).message}`;
    }
    this._loaded = true;
    this._changed.emit();
  }

  private _text = '';
  private _error: string | null = null;
  private _loaded = false;
  private _job: IJob | null = null;
  private _refresher = new Refresher(() => this._load());
  private _changed = new Signal<this, void>(this);
}
