/**
 * Coalesces refreshes: while one runs, any number of requests cause exactly one more run after
 * it, so a burst of events costs at most two requests and the last one sees the latest state.
 */
export class Refresher {
  constructor(private readonly _run: () => Promise<void>) {}

  /** Run now, or once more after the running refresh; resolves when the state is fresh. */
  request(): Promise<void> {
    if (this._running) {
      if (!this._again) {
        this._again = this._running.then(() => {
          this._again = null;
          return this.request();
        });
      }
      return this._again;
    }
    this._running = this._run()
      .catch(() => undefined) // a refresh reports its own errors in its model
      .finally(() => {
        this._running = null;
      });
    return this._running;
  }

  /** True while a refresh runs. */
  get busy(): boolean {
    return this._running !== null;
  }

  private _running: Promise<void> | null = null;
  private _again: Promise<void> | null = null;
}
