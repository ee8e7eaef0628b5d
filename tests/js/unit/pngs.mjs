// What the unit tests feed the stored loader.js, made here with node:zlib and nothing else: PNGs
// of known pixels with each filter type (PNG spec, section 9), their chunks with CRCs, a seeded
// random source, and whole bundles as pack lays them out (NAME.json, PNG shards, label files).
import {createHash} from "node:crypto";
import {mkdirSync, writeFileSync} from "node:fs";
import {join} from "node:path";
import {deflateSync} from "node:zlib";

// mulberry32: a seeded source of numbers in [0, 1), the same on every run.
export function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Smooth gradients with noise and a flat run of 255 (255 + 1 wraps in Sub and Up): every
// filter's predictor has work to do. `height` rows of `rowBytes` bytes.
export function pixels(height, rowBytes, seed = 1) {
  const next = random(seed), out = new Uint8Array(height * rowBytes);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < rowBytes; x++) {
      out[y * rowBytes + x] = x < Math.floor(rowBytes / 5) ? 255 :
        next() < 0.3 ? Math.floor(next() * 256) : (x * 7 + y * 3) % 256;
    }
  }
  return out;
}

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

export function crc32(bytes) {
  let c = ~0;
  for (const b of bytes) c = CRC[(c ^ b) & 255] ^ (c >>> 8);
  return ~c >>> 0;
}

export function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

export function ihdr(width, height, {depth = 8, colour = 0, interlace = 0} = {}) {
  const body = Buffer.alloc(13);
  body.writeUInt32BE(width, 0), body.writeUInt32BE(height, 4);
  body.set([depth, colour, 0, 0, interlace], 8);
  return chunk("IHDR", body);
}

// The scanlines of `rows` (height rows of `stride` bytes, `bpp` bytes a pixel), row r filtered
// with filter type types[r % types.length]: a filter-type byte, then the filtered row.
export function filtered(rows, stride, height, bpp, types) {
  const out = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const type = types[y % types.length], at = y * stride, o = y * (stride + 1);
    out[o] = type;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? rows[at + i - bpp] : 0, b = y > 0 ? rows[at - stride + i] : 0;
      const c = y > 0 && i >= bpp ? rows[at - stride + i - bpp] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][type];
      out[o + 1 + i] = (rows[at + i] - predictor) & 255;
    }
  }
  return out;
}

// A PNG of `rows` (8-bit gray for channels 1, RGB for 3): filter types `filters` in turn, the
// zlib stream deflated with `zlib` options and cut into IDAT chunks of `idat` bytes.
export function png(rows, width, height, channels,
                    {filters = [0], idat = 1 << 16, zlib = {}, stream} = {}) {
  const scan = filtered(rows, width * channels, height, channels, filters);
  const z = stream ?? deflateSync(scan, zlib), parts = [SIGNATURE];
  parts.push(ihdr(width, height, {colour: channels === 3 ? 2 : 0}));
  for (let at = 0; at < z.length || at === 0; at += idat) parts.push(chunk("IDAT", z.subarray(at, at + idat)));
  parts.push(chunk("IEND", Buffer.alloc(0)));
  return new Uint8Array(Buffer.concat(parts));
}

export const same = (a, b) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength),
                                             Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

// The scanlines fed through the loader's scanlines() in chunks cut where `cuts` (ascending
// offsets) says.
export function unfilterCut(scanlines, c, data, cuts) {
  const stride = c.width * c.channels, out = new Uint8Array(c.height * stride);
  const lines = scanlines(out, stride, c.channels, c.height, (what) => new Error(`cut: ${what}`));
  let at = 0;
  for (const cut of [...cuts, data.length]) lines.write(data.subarray(at, cut)), at = cut;
  lines.end();
  return out;
}

// scanlines() of `data` gives `raw` however it is cut: every fixed chunk size from 1 byte to
// just over two rows, one cut at each offset of `oneCuts`, and empty chunks with random cuts.
export function assertCutAnywhere(assert, scanlines, c, data, raw, oneCuts) {
  const line = c.width * c.channels + 1;
  for (let size = 1; size <= 2 * line + 1; size++) {
    const cuts = [];
    for (let at = size; at < data.length; at += size) cuts.push(at);
    assert.ok(same(unfilterCut(scanlines, c, data, cuts), raw), `chunks of ${size} bytes`);
  }
  for (const at of oneCuts) {
    assert.ok(same(unfilterCut(scanlines, c, data, [at]), raw), `one cut at byte ${at}`);
  }
  let s = 7;
  const cuts = [0, 0];
  for (let at = 0; at < data.length;) cuts.push(at), s = (s * 48271) % 2147483647, at += s % 97;
  cuts.push(data.length, data.length);
  assert.ok(same(unfilterCut(scanlines, c, data, cuts), raw), "random cuts");
}

// The Error a promise rejects with (fails the test if it resolves).
export async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("it resolved; an Error was expected");
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

// A bundle as pack lays it out, into `dir` as NAME.json: `images` (n rows of h*w*c bytes),
// `ids` (n class ids), the first `train` rows training, `shardRows` rows a shard. Each file's
// name carries its sha256 as pack's do. Returns the path of NAME.json and the one-hot labels.
export function writeBundle(dir, {name = "data", images, ids, train, height, width, channels = 1,
                                  classes, shardRows}) {
  mkdirSync(dir, {recursive: true});
  const n = ids.length, values = height * width * channels, shards = [];
  const onehot = new Uint8Array(n * classes);
  ids.forEach((id, r) => (onehot[r * classes + id] = 1));
  for (let first = 0, k = 0; first < n; first += shardRows, k++) {
    const rows = Math.min(shardRows, n - first);
    const sprite = png(images.subarray(first * values, (first + rows) * values), height * width,
                       rows, channels, {filters: [0, 1, 2, 3, 4]});
    const labels = onehot.subarray(first * classes, (first + rows) * classes);
    const entry = (role, bytes, ext) => {
      const file = `${name}_${role}_${String(k).padStart(3, "0")}.${sha256(bytes).slice(0, 16)}${ext}`;
      writeFileSync(join(dir, file), bytes);
      return {name: file, bytes: bytes.length, sha256: sha256(bytes)};
    };
    shards.push({rows, images: entry("images", sprite, ".png"), labels: entry("labels", labels, "")});
  }
  const meta = {kind: "packed", image_height: height, image_width: width, channels, classes,
                class_names: Array.from({length: classes}, (_, i) => String(i)), images: n,
                train_images: train, shards};
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(meta));
  return {json: join(dir, `${name}.json`), meta, onehot};
}

// The pixels of `scan` (height scanlines of a filter-type byte and `stride` bytes), unfiltered
// as the PNG spec says, a byte at a time; null for a filter type other than 0 to 4.
export function unfiltered(scan, stride, height, bpp) {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const type = scan[y * (stride + 1)], at = y * stride;
    if (type > 4) return null;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[at + i - bpp] : 0, b = y > 0 ? out[at - stride + i] : 0;
      const c = y > 0 && i >= bpp ? out[at - stride + i - bpp] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][type];
      out[at + i] = (scan[y * (stride + 1) + 1 + i] + predictor) & 255;
    }
  }
  return out;
}
