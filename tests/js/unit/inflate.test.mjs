// NAME.js's own inflate (RFC 1950 and 1951) against node:zlib: every kind of block, outputs far
// larger than its window, and broken streams, each an Error from its `bad` and never a hang.
// The stored mnist_sprite/loader.js, imported as it is: no pack, no Python.
import assert from "node:assert/strict";
import {test} from "node:test";
import {once} from "node:events";
import {constants, createDeflate, deflateRawSync, deflateSync} from "node:zlib";
import {inflate} from "../../../mnist_sprite/loader.js";

// The bytes inflate() gives for `z`, its chunks joined; it throws what bad() makes.
function inflated(z) {
  const parts = [];
  inflate(z, (chunk) => parts.push(Buffer.from(chunk)), (why) => new Error(`bad: ${why}`));
  return Buffer.concat(parts);
}

// Data that deflate codes in every way: runs, repeats near and far, text, noise.
function sample(n, seed = 1) {
  const out = new Uint8Array(n);
  let s = seed;
  const random = () => (s = (s * 48271) % 2147483647) / 2147483647;
  for (let i = 0; i < n;) {
    const kind = random(), len = 1 + Math.floor(random() * 3000);
    for (let k = 0; k < len && i < n; k++, i++) {
      out[i] = kind < 0.3 ? 0 : kind < 0.5 ? 65 + (k % 26) : kind < 0.7 && i > 40000 ?
        out[i - 40000 + (k % 7)] : kind < 0.85 && i > 300 ? out[i - 300] : random() * 256;
    }
  }
  return out;
}

const levels = [0, 1, 6, 9];
const strategies = {default: constants.Z_DEFAULT_STRATEGY, fixed: constants.Z_FIXED,
                    huffman: constants.Z_HUFFMAN_ONLY, rle: constants.Z_RLE,
                    filtered: constants.Z_FILTERED};
for (const n of [0, 1, 100, 33000, 300000, 2_500_000]) {
  test(`inflates ${n} bytes as node:zlib deflated them: levels ${levels}, every strategy`, () => {
    const data = sample(n, n + 1);
    for (const level of levels) {
      for (const [name, strategy] of Object.entries(strategies)) {
        const z = new Uint8Array(deflateSync(data, {level, strategy}));
        assert.ok(inflated(z).equals(Buffer.from(data)), `level ${level}, ${name}`);
      }
    }
  });
}

test("inflates what a small window, memLevel 1 and memLevel 9 make", () => {
  const data = sample(200_000, 3);
  for (const options of [{windowBits: 9}, {memLevel: 1}, {level: 9, memLevel: 9}]) {
    const z = new Uint8Array(deflateSync(data, options));
    assert.ok(inflated(z).equals(Buffer.from(data)), JSON.stringify(options));
  }
});

test("inflates a stream flushed every few bytes: hundreds of blocks, empty stored ones too", async () => {
  const data = sample(6000, 4);
  for (const flush of [constants.Z_SYNC_FLUSH, constants.Z_FULL_FLUSH]) {
    const deflate = createDeflate({level: 6}), parts = [];
    deflate.on("data", (chunk) => parts.push(chunk));
    for (let i = 0; i < data.length; i += 7) {
      deflate.write(data.subarray(i, i + 7));
      await new Promise((resolve) => deflate.flush(flush, resolve));
    }
    deflate.end();
    await once(deflate, "end");
    assert.ok(inflated(new Uint8Array(Buffer.concat(parts))).equals(Buffer.from(data)), `${flush}`);
  }
});

// A zlib stream from a raw deflate stream and the Adler-32 of what it inflates to.
function zlibOf(raw, data) {
  let a = 1, b = 0;
  for (const x of data) a = (a + x) % 65521, b = (b + a) % 65521;
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(((b << 16) | a) >>> 0);
  return new Uint8Array(Buffer.concat([Buffer.from([0x78, 0x9c]), raw, tail]));
}

test("refuses what is not a zlib stream it can read, naming why", () => {
  const data = sample(50_000, 5), z = new Uint8Array(deflateSync(data));
  const cases = [
    [new Uint8Array(0), "not a zlib stream"],
    [Uint8Array.from([1, 2, 3, 4]), "not a zlib stream"],
    [Uint8Array.from([0x78, 0x9d, 3, 0]), "not a zlib stream"],  // the header's check fails
    [new Uint8Array(deflateSync(data, {dictionary: Buffer.from("abc")})), "preset dictionary"],
    [z.slice(0, z.length - 2), "truncated"],
    [Uint8Array.from([...z.subarray(0, z.length - 1), z[z.length - 1] ^ 1]), "Adler-32 differs"],
    [Uint8Array.from([...z, 0, 0]), "2 bytes follow the end of the stream"],
    [Uint8Array.from([0x78, 0x9c, 0b111, 0, 0, 0, 0]), "a block of type 3"],
    [Uint8Array.from([0x78, 0x9c, 1, 5, 0, 5, 0]), "stored block's length is corrupt"],
    [zlibOf(deflateRawSync(Buffer.from("hello hello"), {dictionary: Buffer.from("hello ")}),
            Buffer.from("hello hello")), "a distance too far back"],
  ];
  for (const [bytes, why] of cases) {
    assert.throws(() => inflated(bytes), (e) => e.message.startsWith("bad: ") &&
                  e.message.includes(why), `${why}: ${bytes.length} bytes`);
  }
});

test("every truncation of a stream, and 400 with a bit changed, are an Error from bad()", () => {
  const data = sample(20_000, 9), z = new Uint8Array(deflateSync(data, {level: 9}));
  for (let n = 0; n < z.length; n += n < 300 ? 1 : 37) {
    assert.throws(() => inflated(z.subarray(0, n)), /^Error: bad: /, `the first ${n} bytes`);
  }
  let s = 11;
  for (let k = 0; k < 400; k++) {
    const broken = z.slice();
    s = (s * 48271) % 2147483647;
    broken[2 + (s % (z.length - 2))] ^= 1 << (s % 8);
    let out;
    try {
      out = inflated(broken);
    } catch (e) {
      assert.match(e.message, /^bad: /, `byte ${2 + (s % (z.length - 2))}: ${e.message}`);
      continue;
    }
    // inflated: only a bit deflate ignores (the padding after the last block) may change
    assert.ok(out.equals(Buffer.from(data)), `byte ${2 + (s % (z.length - 2))} changed the data`);
  }
});

test("{adler: false} skips only the Adler-32: a wrong one inflates, truncation is still an Error", () => {
  const data = sample(300_000, 5), z = new Uint8Array(deflateSync(data, {level: 6}));
  const wrong = z.slice();
  wrong[wrong.length - 1] ^= 1;  // the Adler-32's last byte
  assert.throws(() => inflated(wrong), /bad: its Adler-32 differs/);
  const parts = [], bad = (why) => new Error(`bad: ${why}`);
  inflate(wrong, (chunk) => parts.push(Buffer.from(chunk)), bad, {adler: false});
  assert.ok(Buffer.concat(parts).equals(Buffer.from(data)));
  for (const cut of [z.subarray(0, z.length - 5), z.subarray(0, z.length >> 1)]) {
    assert.throws(() => inflate(cut, () => {}, bad, {adler: false}), /bad: .*truncated/);
  }
  const more = new Uint8Array([...z, 0]);
  assert.throws(() => inflate(more, () => {}, bad, {adler: false}), /bad: 1 bytes follow/);
});

test("an inflate begun while another is under way (two loads at once) has a window of its own", () => {
  const a = sample(700_000, 3), b = sample(500_000, 4);
  const za = deflateSync(a, {level: 6}), zb = deflateSync(b, {level: 9});
  const outA = [], outB = [];
  let inner = false;
  inflate(za, (chunk) => {
    outA.push(Buffer.from(chunk));
    if (!inner) {  // the first inflate's window and tables are in use: the second gets its own
      inner = true;
      inflate(zb, (c) => outB.push(Buffer.from(c)));
    }
  });
  assert.ok(Buffer.concat(outA).equals(Buffer.from(a)), "the first stream differs");
  assert.ok(Buffer.concat(outB).equals(Buffer.from(b)), "the second stream differs");
  assert.deepEqual(inflated(za), Buffer.from(a));  // and the shared window is free again
});
