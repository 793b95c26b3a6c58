/**
 * The jobs of one pipeline or of all (newest first, live from events), filtered by state, and
 * the selected job: its datums (filtered by state, failed ones first) and its error.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from '../request';
import { apiPath, query } from '../url';
import { DatumStateFilter, filterJobs, JobStateFilter, sortDatums } from './filters';
import { Refresher } from './refresher';
import { IDatum, IJob, IPage } from './types';

export const JOB_PAGE = 20;
export const DATUM_PAGE = 50;
/**
 * While the selected job runs, its datums are read again this often: a datum starting has no
 * event of its own (its job's counts move only when one finishes), and the datums running now
 * are listed (state `running`) so that they can be restarted.
 */
export const DATUM_POLL_MS = 1000;
/** The `pipeline` of {@link JobsModel.show} that lists the jobs of every pipeline. */
export const ALL_PIPELINES = '*';

/** Shares of a job's datums, in percent of the total: processed, skipped, failed. */
export function progress(job: Pick<IJob, 'total' | 'processed' | 'skipped' | 'failed'>): {
  processed: number;
  skipped: number;
  failed: number;
} {
  if (job.total <= 0) {
    return { processed: 0, skipped: 0, failed: 0 };
  }
  const pct = (n: number) => Math.min(100, (100 * n) / job.total);
  return { processed: pct(job.processed), skipped: pct(job.skipped), failed: pct(job.failed) };
}

export class JobsModel {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get pipeline(): string | null {
    return this._pipeline;
  }

  get jobs(): IJob[] {
    return this._jobs;
  }

  get hasMore(): boolean {
    return this._nextOffset !== null;
  }

  get error(): string | null {
    return this._error;
  }

  get loading(): boolean {
    return this._loading;
  }

  /** True when the jobs of every pipeline are listed. */
  get allPipelines(): boolean {
    return this._pipeline === ALL_PIPELINES;
  }

  /** The state the job list is filtered by. */
  get stateFilter(): JobStateFilter {
    return this._stateFilter;
  }

  /** The loaded jobs the state filter keeps. */
  get visibleJobs(): IJob[] {
    return filterJobs(this._jobs, this._stateFilter);
  }

  setStateFilter(state: JobStateFilter): void {
    if (state !== this._stateFilter) {
      this._stateFilter = state;
      this._changed.emit();
    }
  }

  /** The state the selected job's datums are filtered by. */
  get datumFilter(): DatumStateFilter {
    return this._datumFilter;
  }

  /** The loaded datums of the selected job the filter keeps, failed ones first. */
  get visibleDatums(): IDatum[] {
    return sortDatums(this._datums, this._datumFilter);
  }

  setDatumFilter(state: DatumStateFilter): void {
    if (state !== this._datumFilter) {
      this._datumFilter = state;
      this._changed.emit();
    }
  }

  /** The selected job (kept live by events). */
  get job(): IJob | null {
    return this._job;
  }

  get datums(): IDatum[] {
    return this._datums;
  }

  get hasMoreDatums(): boolean {
    return this._datumsNext !== null;
  }

  /** Show the jobs of `pipeline` (`null`: none; {@link ALL_PIPELINES}: every pipeline). */
  async show(pipeline: string | null): Promise<void> {
    if (pipeline === this._pipeline && this._jobs.length) {
      return;
    }
    this._pipeline = pipeline;
    this._jobs = [];
    this._nextOffset = null;
    this._job = null;
    this._datums = [];
    this._error = null;
    this._changed.emit();
    if (pipeline) {
      await this._fetch(0, JOB_PAGE, false);
    }
  }

  async loadMore(): Promise<void> {
    if (this._nextOffset !== null && !this._loading) {
      await this._fetch(this._nextOffset, JOB_PAGE, true);
    }
  }

  /** Reload the shown jobs (coalesced), and the selected job's datums. */
  refresh(): Promise<void> {
    return this._refresher.request();
  }

  /** Select a job (of any pipeline): its datums load. */
  async select(jobId: string | null): Promise<void> {
    this._datumFilter = 'all';
    this._datums = [];
    this._datumsNext = null;
    if (!jobId) {
      this._job = null;
      this._changed.emit();
      return;
    }
    this._job = this._jobs.find(j => j.id === jobId) ?? null;
    this._changed.emit();
    try {
      if (!this._job) {
        this._job = await requestAPI<IJob>(apiPath('jobs', jobId));
      }
      await this._fetchDatums(0, false);
      this._pollDatums();
    } catch (error) {
      this._error = `Could not load job ${jobId}: ${(error as Error).message}`;
      this._changed.emit();
    }
  }

  /**
   * Stop a job (`stop job`): it, and the jobs of its global commit downstream of it, end
   * `killed` and commit nothing. Answers the jobs stopped; the list reloads.
   */
  async stop(jobId: string): Promise<IJob[]> {
    const reply = await requestAPI<{ items: IJob[] }>(apiPath('jobs', jobId, 'stop'), {
      method: 'POST'
    });
    await this.refresh();
    return reply.items;
  }

  /**
   * Restart a datum of a running job (`restart datum`): its controller kills the datum's run
   * and starts it again (not counted as a try). The server refuses it when the job is not
   * running or the datum has finished.
   */
  async restartDatum(jobId: string, datumId: string): Promise<void> {
    await requestAPI<unknown>(apiPath('jobs', jobId, 'datums', datumId, 'restart'), {
      method: 'POST'
    });
    await this.refresh();
  }

  /**
   * Rerun a done job (`rerun job`): a new job of its pipeline on the input commits the job
   * read, and the jobs downstream of it. Answers the new job (queued); the list reloads.
   */
  async rerun(jobId: string, reprocess: boolean): Promise<IJob> {
    const job = await requestAPI<IJob>(apiPath('jobs', jobId, 'rerun'), {
      method: 'POST',
      body: JSON.stringify({ reprocess })
    });
    await this.refresh();
    return job;
  }

  async loadMoreDatums(): Promise<void> {
    if (this._job && this._datumsNext !== null) {
      await this._fetchDatums(this._datumsNext, true);
    }
  }

  /** Tell the views to draw again (a display state that depends on more than the jobs). */
  touch(): void {
    this._changed.emit();
  }

  /** A job event: update it in place, or put a new job of this pipeline on top. */
  applyJob(job: IJob): void {
    let changed = false;
    if (job.pipeline === this._pipeline || this._pipeline === ALL_PIPELINES) {
      const i = this._jobs.findIndex(j => j.id === job.id);
      if (i >= 0) {
        this._jobs = this._jobs.map(j => (j.id === job.id ? job : j));
      } else {
        this._jobs = [job, ...this._jobs].sort((a, b) => b.created.localeCompare(a.created));
      }
      changed = true;
    }
    if (this._job?.id === job.id) {
      const counts = (j: IJob) => `${j.state}/${j.processed}/${j.skipped}/${j.failed}`;
      const progressed = counts(this._job) !== counts(job);
      this._job = job;
      changed = true;
      if (progressed) {
        void this._datumsRefresher.request();
      }
      this._pollDatums();
    }
    if (changed) {
      this._changed.emit();
    }
  }

  private async _fetch(offset: number, limit: number, append: boolean): Promise<void> {
    const pipeline = this._pipeline!;
    this._loading = true;
    this._changed.emit();
    try {
      const page = await requestAPI<IPage<IJob>>(
        'jobs' + query({ pipeline: pipeline === ALL_PIPELINES ? undefined : pipeline, limit, offset })
      );
      if (pipeline !== this._pipeline) {
        return;
      }
      if (append) {
        const known = new Set(this._jobs.map(j => j.id));
        this._jobs = [...this._jobs, ...page.items.filter(j => !known.has(j.id))];
      } else {
        this._jobs = page.items;
      }
      this._nextOffset = page.next_offset;
      if (this._job) {
        this._job = this._jobs.find(j => j.id === this._job!.id) ?? this._job;
      }
      this._error = null;
    } catch (error) {
      this._error = `Could not load the jobs of ${pipeline}: ${(error as Error).message}`;
    } finally {
      this._loading = false;
      this._changed.emit();
    }
  }

  private async _fetchDatums(offset: number, append: boolean): Promise<void> {
    const job = this._job;
    if (!job) {
      return;
    }
    const limit = append ? DATUM_PAGE : Math.max(DATUM_PAGE, this._datums.length);
    const page = await requestAPI<IPage<IDatum>>(
      apiPath('jobs', job.id, 'datums') + query({ limit, offset })
    );
    if (this._job?.id !== job.id) {
      return;
    }
    this._datums = append ? [...this._datums, ...page.items] : page.items;
    this._datumsNext = page.next_offset;
    this._changed.emit();
  }

  /** While the selected job is not done, read its datums again in {@link DATUM_POLL_MS}. */
  private _pollDatums(): void {
    if (this._pollTimer !== null || !this._job || this._job.done) {
      return;
    }
    const id = this._job.id;
    this._pollTimer = setTimeout(() => {
      this._pollTimer = null;
      if (this._job?.id === id && !this._job.done) {
        void this._datumsRefresher.request().then(() => this._pollDatums());
      }
    }, DATUM_POLL_MS);
  }

  private async _reload(): Promise<void> {
    if (this._pipeline) {
      await this._fetch(0, Math.max(JOB_PAGE, this._jobs.length), false);
    }
    if (this._job) {
      await this._fetchDatums(0, false).catch(() => undefined);
    }
  }

  private _stateFilter: JobStateFilter = 'all';
  private _datumFilter: DatumStateFilter = 'all';
  private _pipeline: string | null = null;
  private _jobs: IJob[] = [];
  private _nextOffset: number | null = null;
  private _loading = false;
  private _error: string | null = null;
  private _job: IJob | null = null;
  private _datums: IDatum[] = [];
  private _datumsNext: number | null = null;
  private _pollTimer: ReturnType<typeof setTimeout> | null = null;
  private _refresher = new Refresher(() => this._reload());
  private _datumsRefresher = new Refresher(() => this._fetchDatums(0, false).catch(() => undefined));
  private _changed = new Signal<this, void>(this);
}
