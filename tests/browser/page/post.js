// Sends a typed array's bytes back to the Python side in pieces: POST result/NAME?at=&of=.

// Bytes per POST, each sent as a Blob: an ArrayBuffer body of hundreds of MB crawls (DevTools
// copies it into its events) or stalls.
const PIECE = 1 << 25;

export async function post(name, view) {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let at = 0; at < bytes.length || at === 0; at += PIECE) {
    const body = bytes.subarray(at, at + PIECE);
    const url = `result/${name}?at=${at}&of=${bytes.length}`;
    const r = await fetch(url, {method: 'POST', body: new Blob([body])});
    if (!r.ok) throw new Error(`POST result/${name}: HTTP ${r.status}`);
    await r.arrayBuffer();  // read the (empty) answer, or Chromium reports the request aborted
    if (bytes.length === 0) break;
  }
}
