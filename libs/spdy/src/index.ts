/**
 * SPDY/3.1 framing and sessions, as kubectl port-forward speaks it (over a socket after `Upgrade:
 * SPDY/3.1`, or tunnelled in WebSocket binary messages).
 */
export { SpdySession, SpdyStream, DEFAULT_WINDOW, type SpdySessionOptions } from './session';
export { encodeFrame, FrameReader, RST_STATUS, FRAME_TYPE, FLAG_FIN, FLAG_UNIDIRECTIONAL, SETTINGS_INITIAL_WINDOW_SIZE, SPDY_VERSION, type RawFrame, type Setting } from './frames';
export { HeaderCompressor, HeaderDecompressor, encodeHeaderBlock, decodeHeaderBlock, type SpdyHeaders } from './headers';
export { HEADER_DICTIONARY } from './dictionary';
