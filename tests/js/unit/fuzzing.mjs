// The fuzzing that fuzz.test.mjs runs in a Worker (so that a hang is a failure it can report):
// the stored loader.js's inflate() and decodePng() on random and mutated input, against
// node:zlib. Every case comes from the seed and its number, in order: the same seed gives the
// same cases. The Worker posts {cases} when its time is up, or {failure} at the first failure;
// it writes the number of the case under way into `progress` (a shared Int32Array) as it goes.
import {constants, deflateSync, inflateRawSync, inflateSync} from "node:zlib";
import {isMainThread, parentPort, workerData} from "node:worker_threads";
import {decodePng, inflate} from "../../../mnist_sprite/loader.js";
import {png, random, unfiltered} from "./pngs.mjs";

const CAP = 1 << 24;  // a case whose output passes 16 MiB is dropped, for node:zlib and the loader
const STRATEGIES = [constants.Z_DEFAULT_STRATEGY, constants.Z_FILTERED, constants.Z_HUFFMAN_ONLY,
                    constants.Z_RLE, constants.Z_FIXED];

// Data deflate codes in every way: runs, text, repeats near and far, noise.
function data(rnd, n) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n;) {
    const kind = rnd(), len = 1 + Math.floor(rnd() * 2000), far = 1 + Math.floor(rnd() * 32768);
    for (let k = 0; k < len && i < n; k++, i++) {
      out[i] = kind < 0.2 ? 0 : kind < 0.35 ? 97 + (k % 26) : kind < 0.6 && i >= far ? out[i - far] :
        kind < 0.75 && i > 3 ? out[i - 3] : Math.floor(rnd() * 256);
    }
  }
  return out;
}

const size = (rnd) => [0, 1, 2, 17, 300, 5000, 40000, 70000][Math.floor(rnd() * 8)] +
  Math.floor(rnd() * 50);

function deflated(rnd, bytes) {
  const options = {level: Math.floor(rnd() * 10), strategy: STRATEGIES[Math.floor(rnd() * 5)],
                   windowBits: 9 + Math.floor(rnd() * 7), memLevel: 1 + Math.floor(rnd() * 9)};
  return [new Uint8Array(deflateSync(bytes, options)), options];
}

// Changed bytes: bits flipped, bytes set, cut, inserted, deleted, repeated, appended.
function mutate(rnd, src) {
  let b = Array.from(src);
  const ops = [], n = 1 + Math.floor(rnd() * (rnd() < 0.7 ? 2 : 8));
  const at = (extra = 0) => Math.floor(rnd() * (b.length + extra));
  for (let k = 0; k < n; k++) {
    const op = Math.floor(rnd() * 7);
    if (op === 0 && b.length) {
      const i = at(), bit = Math.floor(rnd() * 8);
      b[i] ^= 1 << bit, ops.push(`flip ${i}.${bit}`);
    } else if (op === 1 && b.length) {
      const i = at(), v = Math.floor(rnd() * 256);
      b[i] = v, ops.push(`set ${i}=${v}`);
    } else if (op === 2) {
      const i = at(1);
      b = b.slice(0, i), ops.push(`cut ${i}`);
    } else if (op === 3) {
      const i = at(1), len = 1 + Math.floor(rnd() * 8);
      b.splice(i, 0, ...Array.from({length: len}, () => Math.floor(rnd() * 256)));
      ops.push(`insert ${len} at ${i}`);
    } else if (op === 4 && b.length) {
      const i = at(), len = 1 + Math.floor(rnd() * 16);
      b.splice(i, len), ops.push(`delete ${len} at ${i}`);
    } else if (op === 5 && b.length) {
      const i = at(), len = 1 + Math.floor(rnd() * 32);
      b.splice(i, 0, ...b.slice(i, i + len)), ops.push(`repeat ${len} at ${i}`);
    } else {
      const len = Math.floor(rnd() * 5);
      b.push(...Array.from({length: len}, () => Math.floor(rnd() * 256))), ops.push(`append ${len}`);
    }
  }
  return [Uint8Array.from(b), ops];
}

class TooLarge extends Error {}

// What node:zlib makes of `z`: {out, used} (used: the bytes its stream takes), or {error}.
function zlibOf(z, raw = false) {
  try {
    const r = (raw ? inflateRawSync : inflateSync)(z, {info: true, maxOutputLength: CAP});
    return {out: r.buffer, used: r.engine.bytesWritten};
  } catch (e) {
    if (e.code === "ERR_BUFFER_TOO_LARGE") throw new TooLarge();
    return {error: e.message};
  }
}

// What the loader's inflate() makes of `z`: {out} or {error} (an Error from bad(), or not).
function loaderOf(z, adler) {
  const parts = [];
  let total = 0;
  try {
    inflate(z, (chunk) => {
      total += chunk.length;
      if (total > CAP) throw new TooLarge();
      parts.push(Buffer.from(chunk));
    }, (why) => new Error(`bad: ${why}`), {adler});
    return {out: Buffer.concat(parts)};
  } catch (e) {
    if (e instanceof TooLarge) throw e;
    return {error: e, fromBad: e?.constructor === Error && /^bad: /.test(e.message)};
  }
}

// One inflate case: `z` as the loader and node:zlib each read it. A failure's words, or null.
function checkInflate(z, adler) {
  const zl = zlibOf(z), got = loaderOf(z, adler);
  if (got.error && !got.fromBad) return `threw what bad() did not make: ${got.error?.stack ?? got.error}`;
  const whole = zl.out && zl.used === z.length;  // zlib inflates it, and no byte follows
  if (got.error) {
    return whole ? `node:zlib inflates it to ${zl.out.length} bytes; the loader threw ${got.error.message}` : null;
  }
  if (adler) {
    if (!zl.out) return `node:zlib refuses it (${zl.error}); the loader gave ${got.out.length} bytes`;
    if (!whole) return `${z.length - zl.used} bytes follow the stream; the loader took them`;
    return got.out.equals(zl.out) ? null : "the loader's bytes differ from node:zlib's";
  }
  // {adler: false}: the deflate stream as node:zlib reads it raw, and then exactly 4 bytes
  const raw = zlibOf(z.subarray(2), true);
  if (!raw.out) return `node:zlib refuses its deflate stream (${raw.error}); the loader gave bytes`;
  if (raw.used + 6 !== z.length) return `the stream is followed by ${z.length - raw.used - 2} bytes, not 4`;
  return got.out.equals(raw.out) ? null : "the loader's bytes differ from node:zlib's";
}

const KINDS = {
  // A valid stream of random data, options and size: the loader gives node:zlib's bytes.
  valid(rnd) {
    const [z, options] = deflated(rnd, data(rnd, size(rnd)));
    return [z, JSON.stringify(options), (bytes) => checkInflate(bytes, rnd() < 0.8)];
  },
  // A valid stream mutated: node:zlib's bytes, or an Error from bad().
  mutated(rnd) {
    const [z, options] = deflated(rnd, data(rnd, Math.min(size(rnd), 6000)));
    const [bytes, ops] = mutate(rnd, z);
    return [bytes, `${JSON.stringify(options)} ${ops.join(", ")}`,
            (b) => checkInflate(b, rnd() < 0.8)];
  },
  // A zlib header and random bits: blocks of every type, nonsense Huffman tables.
  noise(rnd) {
    const n = Math.floor(rnd() * 200), bytes = new Uint8Array(n + 2);
    bytes.set([0x78, 0x9c]);
    for (let i = 2; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
    if (rnd() < 0.3) bytes[2] = (bytes[2] & ~6) | 2;  // a fixed-Huffman first block
    if (rnd() < 0.3) bytes[2] = (bytes[2] & ~6) | 4;  // a dynamic one
    return [bytes, "noise", (b) => checkInflate(b, true)];
  },
  // A PNG of random pixels, filters, IDAT sizes and levels, mutated: pixels as node:zlib and the
  // spec's unfiltering make them, or an Error naming the file.
  png(rnd) {
    const channels = rnd() < 0.5 ? 1 : 3, width = 1 + Math.floor(rnd() * 40);
    const height = 1 + Math.floor(rnd() * 40);
    const rows = data(rnd, width * height * channels);
    const filters = Array.from({length: 1 + Math.floor(rnd() * 6)}, () => Math.floor(rnd() * 5));
    const file = png(rows, width, height, channels, {filters, idat: 1 + Math.floor(rnd() * 500),
                                                     zlib: {level: Math.floor(rnd() * 10)}});
    const [bytes, ops] = rnd() < 0.1 ? [file, ["none"]] : mutate(rnd, file);
    return [bytes, `${width}x${height}x${channels} filters ${filters} ${ops.join(", ")}`, checkPng];
  },
};

// The PNG as the spec and node:zlib read it, in the loader's chunk rules (each IHDR checked,
// the last one holds; nothing after IEND is read; CRCs unread): {pixels, width, height, channels} or {error}.
function referencePng(b) {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (b.length < 8 || sig.some((v, i) => b[i] !== v)) return {error: "signature"};
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength), idat = [];
  let head = null, pos = 8, ended = false;
  while (pos < b.length && !ended) {
    if (pos + 12 > b.length) return {error: "truncated chunk"};
    const length = view.getUint32(pos), type = String.fromCharCode(...b.subarray(pos + 4, pos + 8));
    if (pos + 12 + length > b.length) return {error: "truncated chunk"};
    const body = b.subarray(pos + 8, pos + 8 + length);
    if (pos === 8 && type !== "IHDR") return {error: "no IHDR"};
    if (type === "IHDR") {  // each one must be good; the last holds
      const [depth, colour, c, f, i] = body.subarray(8);
      if (body.length !== 13 || depth !== 8 || (colour !== 0 && colour !== 2) || c || f || i) {
        return {error: "IHDR"};
      }
      head = body;
    }
    if (type === "IDAT") idat.push(body);
    ended = type === "IEND", pos += 12 + length;
  }
  if (!ended) return {error: "no IEND"};
  const hv = new DataView(head.buffer, head.byteOffset, 13);
  const width = hv.getUint32(0), height = hv.getUint32(4), colour = head[9];
  const channels = colour === 2 ? 3 : 1, stride = width * channels;
  if (height * (stride + 1) > CAP) throw new TooLarge();
  const z = zlibOf(Buffer.concat(idat));
  if (!z.out) return {error: `zlib: ${z.error}`};
  if (z.out.length !== height * (stride + 1)) return {error: "rows", trailing: true};
  const pixels = unfiltered(z.out, stride, height, channels);
  if (!pixels) return {error: "filter type"};
  const total = idat.reduce((n, x) => n + x.length, 0);
  return {pixels, width, height, channels, whole: z.used === total};
}

function checkPng(b) {
  const want = referencePng(b);
  let got;
  decodePng(b, "fuzz.png").then((r) => (got = r), (e) => (got = {error: e}));
  // decodePng is async but, outside a window, runs straight through: settled after a turn
  return [want, () => got];
}

// Run `kind` from `seed` for `ms` milliseconds (at least one case).
async function run(kind, seed, ms, progress) {
  const rnd = random(seed), end = Date.now() + ms;
  let n = 0;
  for (; n === 0 || Date.now() < end; n++) {
    Atomics.store(progress, 0, n);
    const [bytes, what, check] = KINDS[kind](rnd);
    let failure;
    try {
      failure = check(bytes);
      if (Array.isArray(failure)) failure = await pngVerdict(...failure);
    } catch (e) {
      if (e instanceof TooLarge) continue;
      failure = `the check itself threw: ${e.stack}`;
    }
    if (failure) {
      const shown = bytes.length <= 4096 ? Buffer.from(bytes).toString("base64") : `${bytes.length} bytes`;
      return {failure: `case ${n} (${what}): ${failure}\ninput (base64): ${shown}`};
    }
  }
  return {cases: n};
}

async function pngVerdict(want, settled) {
  await new Promise((resolve) => setImmediate(resolve));
  const got = settled();
  if (!got) return "decodePng did not settle";
  if (got.error) {
    const e = got.error;
    if (!(e?.constructor === Error && e.message.startsWith("fuzz.png: "))) {
      return `decodePng threw an Error not naming the file: ${e?.stack ?? e}`;
    }
    return want.pixels && want.whole ? `the spec and node:zlib decode it; decodePng threw ${e.message}` : null;
  }
  if (!want.pixels) return `decodePng gave pixels where the reference says ${want.error}`;
  if ([got.width, got.height, got.channels].join() !== [want.width, want.height, want.channels].join()) {
    return "decodePng's size differs from the header's";
  }
  return Buffer.from(got.pixels).equals(Buffer.from(want.pixels)) ? null : "decodePng's pixels differ";
}

if (!isMainThread && workerData?.kind) {
  const {kind, seed, ms, progress} = workerData;
  parentPort.postMessage(await run(kind, seed, ms, new Int32Array(progress)));
}
