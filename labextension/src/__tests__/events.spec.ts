import { backoffDelay, EventStream, IStreamResponse } from '../model/events';
import { IPipesEvent } from '../model/types';

jest.mock('../request', () => ({ openEventStream: jest.fn() }));

/** A response whose body yields `chunks`, then ends (or stays open with `hold`). */
function response(chunks: string[], hold = false): IStreamResponse {
  const enc = new TextEncoder();
  return {
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        chunks.forEach(c => controller.enqueue(enc.encode(c)));
        if (!hold) {
          controller.close();
        }
      }
    })
  };
}

describe('EventStream', () => {
  it('emits parsed events and reconnects with Last-Event-ID after the stream ends', async () => {
    const opened: Array<string | null> = [];
    const delays: number[] = [];
    const events: IPipesEvent[] = [];
    const reconnects: boolean[] = [];
    const stream: EventStream = new EventStream({
      open: async lastId => {
        opened.push(lastId);
        if (opened.length === 1) {
          return response(['retry: 2000\n\nid: 5\ndata: {"type":"repo","action":"created",', '"repo":"a"}\n\n']);
        }
        return response(['id: 6\ndata: {"type":"repo","action":"deleted","repo":"a"}\n\n'], true);
      },
      sleep: async ms => {
        delays.push(ms);
      }
    });
    stream.received.connect((_, e) => {
      events.push(e);
      if (events.length === 2) {
        stream.dispose();
      }
    });
    stream.opened.connect((_, again) => reconnects.push(again));
    await stream.start();
    expect(events).toEqual([
      { type: 'repo', action: 'created', repo: 'a' },
      { type: 'repo', action: 'deleted', repo: 'a' }
    ]);
    expect(opened).toEqual([null, '5']);
    expect(delays).toEqual([2000]); // the server's retry advice
    expect(reconnects).toEqual([false, true]);
    expect(stream.state).toBe('closed');
  });

  it('backs off exponentially while the server cannot be reached', async () => {
    const delays: number[] = [];
    let attempts = 0;
    const stream: EventStream = new EventStream({
      initialDelay: 100,
      maxDelay: 1000,
      open: async () => {
        attempts += 1;
        if (attempts === 7) {
          stream.dispose();
        }
        throw new Error('down');
      },
      sleep: async ms => {
        delays.push(ms);
      }
    });
    await stream.start();
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('skips frames that are not JSON events', async () => {
    const events: IPipesEvent[] = [];
    const stream: EventStream = new EventStream({
      open: async () => response(['data: not json\n\ndata: {"no":"type"}\n\ndata: {"type":"pipeline","action":"created","pipeline":"p"}\n\n']),
      sleep: async (): Promise<void> => stream.dispose()
    });
    stream.received.connect((_, e) => events.push(e));
    await stream.start();
    expect(events).toEqual([{ type: 'pipeline', action: 'created', pipeline: 'p' }]);
  });

  it('computes capped doubling delays', () => {
    expect([0, 1, 2, 3, 10].map(a => backoffDelay(a, 1000, 30000))).toEqual([1000, 2000, 4000, 8000, 30000]);
  });
});
