import { SSEParser } from '../model/sse';

describe('SSEParser', () => {
  it('parses the frames the server writes', () => {
    const p = new SSEParser();
    const out = p.push('retry: 2000\n: connected\n\nid: 1\ndata: {"type":"repo"}\n\nid: 2\ndata: {"type":"job"}\n\n');
    expect(out).toEqual([
      { event: 'message', data: '{"type":"repo"}', id: '1' },
      { event: 'message', data: '{"type":"job"}', id: '2' }
    ]);
    expect(p.retry).toBe(2000);
    expect(p.lastEventId).toBe('2');
  });

  it('reassembles frames split anywhere across chunks', () => {
    const text = 'id: 7\ndata: {"a": 1}\n\n: heartbeat\n\nid: 8\ndata: {"b": 2}\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SSEParser();
      const out = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(out.map(m => [m.id, m.data])).toEqual([
        ['7', '{"a": 1}'],
        ['8', '{"b": 2}']
      ]);
    }
  });

  it('accepts CRLF and CR line ends, even a CRLF split between chunks', () => {
    const p = new SSEParser();
    const out = [...p.push('data: one\r'), ...p.push('\n\r\n'), ...p.push('data: two\r\r')];
    expect(out.map(m => m.data)).toEqual(['one', 'two']);
  });

  it('joins multi-line data, ignores comments and unknown fields, strips one space', () => {
    const p = new SSEParser();
    const out = p.push(':comment\nfoo: bar\nevent: custom\ndata:  x\ndata:y\n\n');
    expect(out).toEqual([{ event: 'custom', data: ' x\ny', id: '' }]);
  });

  it('keeps the last id across messages and a reset, and drops a half message on reset', () => {
    const p = new SSEParser();
    p.push('id: 41\ndata: a\n\n');
    p.push('id: 42\ndata: half');
    p.reset();
    expect(p.lastEventId).toBe('42');
    const out = p.push('data: b\n\n');
    expect(out).toEqual([{ event: 'message', data: 'b', id: '42' }]);
  });

  it('dispatches nothing for a frame without data and skips a leading BOM', () => {
    const p = new SSEParser();
    expect(p.push('\uFEFFid: 3\n\n')).toEqual([]);
    expect(p.lastEventId).toBe('3');
    expect(p.push('retry: soon\n\n')).toEqual([]);
    expect(p.retry).toBeNull();
  });
});
