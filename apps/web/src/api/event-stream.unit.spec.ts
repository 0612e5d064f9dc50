import { parseEvent } from './event-stream';

describe('parseEvent (one Server-Sent Event block)', () => {
  it('reads the event name and the JSON data, joining data lines', () => {
    expect(parseEvent('event: runs.epoch\ndata: {"epoch":3,\ndata: "trainLoss":0.5}')).toEqual({ type: 'runs.epoch', data: { epoch: 3, trainLoss: 0.5 } });
  });

  it('calls an unnamed event "message" and ignores id and comment lines', () => {
    expect(parseEvent('id: 7\n: keep-alive\ndata: [1,2]')).toEqual({ type: 'message', data: [1, 2] });
  });

  it('drops a block without data or with data that is not JSON', () => {
    expect(parseEvent(': keep-alive')).toBeNull();
    expect(parseEvent('event: x\ndata: {not json')).toBeNull();
  });
});
