import { CHANNEL, decodeFrame, encodeFrame, exitCodeOf, exitStatus, failureStatus, parseResize } from './channel-protocol';

describe('the channel protocol', () => {
  it('prefixes data with its channel and reads it back', () => {
    const frame = encodeFrame(CHANNEL.stdout, 'hello');
    expect([...frame]).toEqual([1, ...Buffer.from('hello')]);
    expect(decodeFrame(frame)).toEqual({ channel: 1, data: Buffer.from('hello') });
    expect(decodeFrame(encodeFrame(CHANNEL.close, Buffer.from([CHANNEL.stdin])))).toEqual({ channel: 255, data: Buffer.from([0]) });
    expect(decodeFrame(encodeFrame(CHANNEL.stdin))).toEqual({ channel: 0, data: Buffer.alloc(0) });
    expect(decodeFrame(Buffer.alloc(0))).toBeUndefined();
  });

  it('words exit statuses as the kubelet does, and reads their exit code', () => {
    expect(exitStatus(0)).toEqual({ metadata: {}, status: 'Success' });
    const failed = exitStatus(3, ['sh', '-c', 'exit 3']);
    expect(failed).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    expect(exitCodeOf(failed)).toBe(3);
    expect(exitCodeOf(exitStatus(0))).toBe(0);
    expect(exitCodeOf(failureStatus('runc exec failed'))).toBeUndefined();
  });

  it('reads terminal sizes and rejects anything else', () => {
    expect(parseResize(Buffer.from('{"Width":80,"Height":24}'))).toEqual({ width: 80, height: 24 });
    expect(parseResize(Buffer.from('{"Width":-1,"Height":24}'))).toBeUndefined();
    expect(parseResize(Buffer.from('{"Width":"x"}'))).toBeUndefined();
    expect(parseResize(Buffer.from('not json'))).toBeUndefined();
  });
});
