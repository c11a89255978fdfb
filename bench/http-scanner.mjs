// An incremental HTTP/1.1 scanner for the counting proxies (bench/proxy.mjs): it reads along a
// byte stream of requests or answers and finds the end of each message's headers, the few headers
// the proxy needs, and the body by Content-Length or chunked framing, without buffering what it
// does not need.
import { Buffer } from 'node:buffer';

const CRLF2 = Buffer.from('\r\n\r\n');
/** A header block larger than this is not HTTP we expect: the connection is dropped. */
const MAX_HEAD = 64 * 1024;
const HEAD = 0;
const LENGTH = 1;
const UNTIL_CLOSE = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_CRLF = 5;
const TRAILER = 6;

/** The fields of a header block the proxy needs (names case-insensitive). */
function parseHead(text) {
  const lines = text.split('\r\n');
  let i = 0;
  while (i < lines.length && lines[i] === '') i += 1; // stray CRLFs between messages
  const head = { start: lines[i] ?? '', length: -1, chunked: false, target: undefined, form: false };
  for (i += 1; i < lines.length; i += 1) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === 'content-length') head.length = Number(line.slice(colon + 1).trim());
    else if (name === 'transfer-encoding') head.chunked = /chunked\s*$/i.test(line.slice(colon + 1));
    else if (name === 'x-amz-target') head.target = line.slice(colon + 1).trim();
    else if (name === 'content-type') head.form = line.includes('x-www-form-urlencoded', colon);
  }
  return head;
}

/**
 * Reads one direction of one connection, message after message, without copying bodies:
 * `on.head(head, raw)` when a header block is complete (`raw`: its bytes, as a list of buffers),
 * returning true when the message has no body whatever its headers say (a HEAD answer, 1xx, 204,
 * 304); `on.data(slice)` for body bytes (only while `wantData`); `on.raw(slice)` for the body's
 * bytes as sent (framing included), when given; `on.end(bodyBytes)` when a message is complete;
 * `on.error(message)` on what cannot be HTTP/1.1.
 */
export class Scanner {
  constructor(response, on) {
    this.response = response;
    this.on = on;
    this.mode = HEAD;
    /** A header block (or chunk-size / trailer line) split across chunks: the part so far. */
    this.partial = undefined;
    this.remaining = 0;
    this.bodyBytes = 0;
    this.wantData = false;
  }

  feed(buf) {
    let pos = 0;
    while (pos < buf.length && this.mode !== -1) {
      switch (this.mode) {
        case HEAD:
          pos = this.readHead(buf, pos);
          break;
        case LENGTH:
        case CHUNK_DATA: {
          const end = Math.min(buf.length, pos + this.remaining);
          this.body(buf, pos, end, true);
          this.remaining -= end - pos;
          pos = end;
          if (this.remaining === 0) {
            if (this.mode === LENGTH) this.finish();
            else this.mode = CHUNK_CRLF;
          }
          break;
        }
        case UNTIL_CLOSE:
          this.body(buf, pos, buf.length, true);
          pos = buf.length;
          break;
        case CHUNK_CRLF:
        case CHUNK_SIZE:
        case TRAILER:
          pos = this.readLine(buf, pos);
          break;
        default:
          return;
      }
    }
  }

  /** The stream ended: a body delimited by the close is complete. */
  close() {
    if (this.mode === UNTIL_CLOSE) this.finish();
  }

  fail(message) {
    this.mode = -1;
    this.on.error(message);
  }

  body(buf, start, end, data) {
    if (end <= start) return;
    const slice = buf.subarray(start, end);
    if (data) {
      this.bodyBytes += end - start;
      if (this.wantData) this.on.data(slice);
    }
    this.on.raw?.(slice);
  }

  finish() {
    this.mode = HEAD;
    const n = this.bodyBytes;
    this.bodyBytes = 0;
    this.wantData = false;
    this.on.end(n);
  }

  readHead(buf, pos) {
    let block = buf;
    let from = pos;
    let searchFrom = pos;
    if (this.partial) {
      searchFrom = Math.max(0, this.partial.length - 3);
      block = Buffer.concat([this.partial, buf.subarray(pos)]);
      from = 0;
    }
    const at = block.indexOf(CRLF2, searchFrom);
    if (at < 0) {
      this.partial = block.subarray(from);
      if (this.partial.length > MAX_HEAD) this.fail('header block too large');
      return buf.length;
    }
    const end = at + 4;
    const consumed = this.partial ? end - this.partial.length : end - pos;
    this.partial = undefined;
    const raw = block.subarray(from, end);
    const head = parseHead(raw.latin1Slice(0, raw.length));
    const noBody = this.on.head(head, raw) === true;
    if (head.chunked && !noBody) this.mode = CHUNK_SIZE;
    else if (head.length > 0 && !noBody) {
      this.mode = LENGTH;
      this.remaining = head.length;
    } else if (head.length < 0 && this.response && !noBody) this.mode = UNTIL_CLOSE;
    else if (Number.isNaN(head.length)) this.fail('bad Content-Length');
    else this.finish();
    return pos + consumed;
  }

  /** A chunk-size line, the CRLF after a chunk's data, or a trailer line. */
  readLine(buf, pos) {
    const nl = buf.indexOf(10, pos);
    const end = nl < 0 ? buf.length : nl + 1;
    this.body(buf, pos, end, false);
    const piece = buf.subarray(pos, end);
    this.partial = this.partial ? Buffer.concat([this.partial, piece]) : piece;
    if (nl < 0) {
      if (this.partial.length > MAX_HEAD) this.fail('chunk framing line too long');
      return end;
    }
    const line = this.partial.latin1Slice(0, this.partial.length).trim();
    this.partial = undefined;
    if (this.mode === CHUNK_CRLF) {
      if (line !== '') this.fail('chunk data longer than its size');
      else this.mode = CHUNK_SIZE;
    } else if (this.mode === CHUNK_SIZE) {
      const size = Number.parseInt(line.split(';', 1)[0] ?? '', 16);
      if (!Number.isFinite(size) || size < 0) this.fail('bad chunk size');
      else if (size === 0) this.mode = TRAILER;
      else {
        this.mode = CHUNK_DATA;
        this.remaining = size;
      }
    } else if (line === '') this.finish(); // TRAILER: an empty line ends the message
    return end;
  }
}
