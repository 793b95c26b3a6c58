/**
 * A parser of server-sent event streams (the WHATWG `text/event-stream` format), fed with text
 * chunks as they arrive: a chunk may end anywhere, even inside a line or between `\r` and `\n`.
 */

export interface ISSEMessage {
  /** The `event:` field, `message` by default. */
  event: string;
  /** The `data:` lines joined by newlines. */
  data: string;
  /** The last `id:` seen (it persists across messages, as `Last-Event-ID` does). */
  id: string;
}

export class SSEParser {
  /** The last event id seen, to send as `Last-Event-ID` when reconnecting. */
  lastEventId = '';
  /** The server's `retry:` advice in milliseconds, if it gave one. */
  retry: number | null = null;

  /** Parse one more chunk of the stream; the messages it completes. */
  push(chunk: string): ISSEMessage[] {
    let text = this._pending + chunk;
    if (this._first) {
      if (text.length === 0) {
        return [];
      }
      this._first = false;
      if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
      }
    }
    if (this._skipLF && text.startsWith('\n')) {
      text = text.slice(1);
    }
    this._skipLF = false;
    const out: ISSEMessage[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c !== '\n' && c !== '\r') {
        continue;
      }
      this._line(text.slice(start, i), out);
      if (c === '\r') {
        if (i + 1 === text.length) {
          this._skipLF = true; // a `\n` may start the next chunk
        } else if (text[i + 1] === '\n') {
          i++;
        }
      }
      start = i + 1;
    }
    this._pending = text.slice(start);
    return out;
  }

  /** Forget a half-read message (the connection dropped); keeps `lastEventId`. */
  reset(): void {
    this._pending = '';
    this._data = [];
    this._event = '';
    this._skipLF = false;
    this._first = true;
  }

  private _line(line: string, out: ISSEMessage[]): void {
    if (line === '') {
      if (this._data.length > 0) {
        out.push({ event: this._event || 'message', data: this._data.join('\n'), id: this.lastEventId });
      }
      this._data = [];
      this._event = '';
      return;
    }
    if (line.startsWith(':')) {
      return; // a comment (the server's heartbeat)
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    switch (field) {
      case 'data':
        this._data.push(value);
        break;
      case 'event':
        this._event = value;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.lastEventId = value;
        }
        break;
      case 'retry':
        if (/^\d+$/.test(value)) {
          this.retry = parseInt(value, 10);
        }
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private _pending = '';
  private _data: string[] = [];
  private _event = '';
  private _skipLF = false;
  private _first = true;
}
