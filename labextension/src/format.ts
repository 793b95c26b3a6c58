/**
 * Small pure formatters shared by the components (sizes, times, ids).
 */

/**
 * A byte count, the one way jupyter_pipes writes sizes everywhere (the CLI, the `%pipe` magics
 * and widgets, the sidebar): pachctl's, four significant digits and a binary unit, `1.5KiB`,
 * `2.139KiB`, `12B`.
 */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number(value.toPrecision(4))}${units[unit]}`;
}

/** A time relative to `now`: `just now`, `5 min ago`, `3 h ago`, `2 d ago`, else the date. */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) {
    return '';
  }
  const then = Date.parse(iso);
  if (Number.isNaN(then)) {
    return iso;
  }
  const s = Math.round((now - then) / 1000);
  if (s < 45) {
    return 'just now';
  }
  if (s < 3600) {
    return `${Math.max(1, Math.round(s / 60))} min ago`;
  }
  if (s < 86400) {
    return `${Math.round(s / 3600)} h ago`;
  }
  if (s < 30 * 86400) {
    return `${Math.round(s / 86400)} d ago`;
  }
  return new Date(then).toISOString().slice(0, 10);
}

/** Seconds as `850 ms`, `4.2 s`, `3 min 5 s`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

/** The first 8 characters of an id, as the CLI prints them. */
export function shortId(id: string | null | undefined): string {
  return (id ?? '-').slice(0, 8);
}

/** An exact local date and time, for a `title` tooltip. */
export function exactTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '';
}
