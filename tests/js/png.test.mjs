// The PNG decoder inside a pack's NAME.js, against Python's own files (tests/loaderkit.py);
// unit/png.test.mjs tests the stored loader.js's on PNGs made in JS, and unit/sha256.test.mjs its SHA-256.
import assert from "node:assert/strict";
import {test} from "node:test";
import {inflateSync} from "node:zlib";
import {FIX, bytes, loader, rejection, same} from "./fixtures.mjs";
import {assertCutAnywhere, unfilterCut as unfilterCutBy} from "./unit/pngs.mjs";

const {decodePng, scanlines, toFloat32} = await loader(FIX.bundles.gray);
const unfilterCut = (c, data, cuts) => unfilterCutBy(scanlines, c, data, cuts);

for (const c of FIX.png) {
  test(`decodes ${c.file}: ${c.channels === 3 ? "RGB" : "gray"}, filters ${c.filters}`, async () => {
    const got = await decodePng(bytes(`png/${c.file}`), c.file);
    assert.deepEqual([got.width, got.height, got.channels], [c.width, c.height, c.channels]);
    assert.ok(same(got.pixels, bytes(`png/${c.raw}`)), "the decoded bytes differ from numpy's");
  });
}

for (const c of FIX.bad) {
  test(`refuses ${c.file}, naming it: ${c.error}`, async () => {
    const e = await rejection(decodePng(bytes(`bad/${c.file}`), c.file));
    assert.ok(e instanceof Error && e.message.startsWith(`${c.file}: `), String(e));
    assert.ok(e.message.includes(c.error), e.message);
  });
}

test("float32 of every byte is numpy's float32(k / 255), bit for bit", () => {
  const k = Uint8Array.from({length: 256}, (_, i) => i);
  assert.deepEqual(Array.from(new Uint32Array(toFloat32(k).buffer)), FIX.k255);
});

// A PNG's IDAT data, inflated by node:zlib: the filtered scanlines that scanlines() unfilters.
function filteredRows(png) {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength), idat = [];
  for (let pos = 8; pos < png.length;) {
    const length = view.getUint32(pos), type = String.fromCharCode(...png.subarray(pos + 4, pos + 8));
    if (type === "IDAT") idat.push(png.subarray(pos + 8, pos + 8 + length));
    pos += 12 + length;
  }
  return new Uint8Array(inflateSync(Buffer.concat(idat)));
}


for (const c of FIX.png) {
  test(`scanlines() of ${c.file} cut anywhere: in a row, at and after its filter byte`, () => {
    const data = filteredRows(bytes(`png/${c.file}`)), raw = bytes(`png/${c.raw}`);
    const line = c.width * c.channels + 1;
    // one cut at each offset of the second row: just before, at and after its filter byte
    const second = [];
    for (let at = line - 1; at <= 2 * line + 1 && at < data.length; at++) second.push(at);
    assertCutAnywhere(assert, scanlines, c, data, raw, second);
  });
}

test("scanlines() refuses too few and too many rows, and a bad filter byte mid-chunk", () => {
  const c = FIX.png[0], data = filteredRows(bytes(`png/${c.file}`)), line = c.width * c.channels + 1;
  const part = {...c, height: c.height - 1};
  assert.throws(() => unfilterCut(part, data, [line + 3]), /cut: holds more image data than its/);
  const more = {...c, height: c.height + 1};
  assert.throws(() => unfilterCut(more, data, [line + 3]), new RegExp(
    `cut: is truncated: its image data holds ${c.height} of its ${c.height + 1} rows`));
  const broken = data.slice();
  broken[line] = 5;  // the second row's filter byte
  for (const cuts of [[], [line], [line + 1], [line - 1, line + 2]]) {
    assert.throws(() => unfilterCut(c, broken, cuts), /cut: its scanline 1 has filter type 5/);
  }
});
