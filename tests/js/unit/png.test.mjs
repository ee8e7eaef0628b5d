// The PNG decoder of the stored mnist_sprite/loader.js, imported as it is, on PNGs made here
// (pngs.mjs: node:zlib and this test's own filters): every filter type, gray and RGB, IDAT cut
// small, every deflate level; each PNG pack never writes, or broken, an Error naming the file;
// scanlines() on inflated data cut anywhere. (tests/js/png.test.mjs: the same on Python's PNGs.)
import assert from "node:assert/strict";
import {test} from "node:test";
import {decodePng, scanlines} from "../../../mnist_sprite/loader.js";
import {SIGNATURE, assertCutAnywhere, chunk, filtered, ihdr, pixels, png, rejection, same,
        unfilterCut as unfilterCutBy} from "./pngs.mjs";
import {deflateSync} from "node:zlib";

const FILTERS = {none: [0], sub: [1], up: [2], average: [3], paeth: [4], cycle: [0, 1, 2, 3, 4],
                 mixed: [4, 0, 3, 3, 1, 2, 2, 4]};
const SHAPES = {gray: [13, 9, 1], rgb: [11, 7, 3], "1x1 gray": [1, 1, 1], "1-wide rgb": [1, 12, 3],
                "1-high gray": [40, 1, 1]};

for (const [shape, [width, height, channels]] of Object.entries(SHAPES)) {
  const rows = pixels(height, width * channels, width * 31 + height);
  for (const [name, filters] of Object.entries(FILTERS)) {
    test(`decodes ${shape} with filters ${name}, IDAT whole and cut into 5 bytes, levels 0-9`, async () => {
      for (const idat of [1 << 16, 5]) {
        for (const level of [0, 1, 6, 9]) {
          const file = png(rows, width, height, channels, {filters, idat, zlib: {level}});
          const got = await decodePng(file, "x.png");
          assert.deepEqual([got.width, got.height, got.channels], [width, height, channels]);
          assert.ok(same(got.pixels, rows), `IDAT ${idat}, level ${level}: the pixels differ`);
        }
      }
    });
  }
}

test("decodes a tall, wide one: the inflated stream in many pieces, rows cut across them", async () => {
  const rows = pixels(400, 257, 5);
  const got = await decodePng(png(rows, 257, 400, 1, {filters: [0, 1, 2, 3, 4, 4, 3],
                                                      zlib: {level: 1}}));
  assert.ok(same(got.pixels, rows));
});

test("decodes into `out` when the file is what `want` says, and skips the Adler-32 when checked", async () => {
  const rows = pixels(6, 8, 2), file = png(rows, 8, 6, 1, {filters: [4]});
  const out = new Uint8Array(48);
  const got = await decodePng(file, "x.png", {width: 8, height: 6, channels: 1, out});
  assert.equal(got.pixels, out);
  assert.ok(same(out, rows));
  const wrong = file.slice(), adler = wrong.length - 12 - 4 - 4;  // IEND, then IDAT's CRC
  wrong[adler + 3] ^= 1;  // the Adler-32's last byte: the CRC is not checked
  const e = await rejection(decodePng(wrong, "x.png"));
  assert.equal(e.message, "x.png: its image data does not inflate (its Adler-32 differs)");
  const checked = await decodePng(wrong, "x.png", {width: 8, height: 6, channels: 1, checked: true});
  assert.ok(same(checked.pixels, rows));
});

test("a PNG of another size or kind than `want` says is an Error naming the file and who says", async () => {
  const file = png(pixels(6, 8, 2), 8, 6, 1);
  for (const [want, says] of [[{width: 8, height: 7, channels: 1, says: "d.json"},
                               "is 8x6 gray, not the 8x7 gray d.json says"],
                              [{width: 8, height: 6, channels: 3},
                               "is 8x6 gray, not the 8x6 RGB NAME.json says"]]) {
    const e = await rejection(decodePng(file, "a/x.png", want));
    assert.equal(e.message, `a/x.png: ${says}`);
  }
});

// PNGs pack never writes, or broken: the words the Error must say after the file's name.
function badCases() {
  const rows = pixels(6, 8, 3), good = png(rows, 8, 6, 1);
  const scan = filtered(rows, 8, 6, 1, [0]);
  const bare = (width, height, scanlines, head = ihdr(width, height)) => new Uint8Array(Buffer.concat(
    [SIGNATURE, head, chunk("IDAT", deflateSync(scanlines)), chunk("IEND", Buffer.alloc(0))]));
  const kind = (options) => bare(8, 6, scan, ihdr(8, 6, options));
  const five = scan.slice();
  five[0] = 5;
  return {
    "gray16.png": [kind({depth: 16}), "holds 16-bit gray pixels"],
    "gray1.png": [kind({depth: 1}), "1-bit gray"],
    "palette.png": [kind({colour: 3}), "8-bit palette"],
    "rgba.png": [kind({colour: 6}), "8-bit RGBA"],
    "gray_alpha.png": [kind({colour: 4}), "8-bit gray+alpha"],
    "colour5.png": [kind({colour: 5}), "8-bit colour type 5"],
    "interlaced.png": [kind({interlace: 1}), "is Adam7-interlaced 8-bit gray"],
    "truncated.png": [good.subarray(0, good.length >> 1), "is truncated"],
    "no_iend.png": [good.subarray(0, good.length - 12), "no IEND"],
    "not_png.png": [new Uint8Array(Buffer.concat([Buffer.from("GIF89a"), Buffer.alloc(40)])),
                    "is not a PNG"],
    "short.png": [SIGNATURE.subarray(0, 5), "is not a PNG"],
    "no_ihdr.png": [new Uint8Array(Buffer.concat([SIGNATURE, chunk("IDAT", deflateSync(scan))])),
                    "does not start with an IHDR chunk"],
    "ihdr12.png": [new Uint8Array(Buffer.concat([SIGNATURE, chunk("IHDR", Buffer.alloc(12))])),
                   "has an IHDR of 12 bytes, not 13"],
    "filter5.png": [bare(8, 6, five), "its scanline 0 has filter type 5, not 0 to 4"],
    "few_rows.png": [bare(8, 12, scan), "holds 6 of its 12 rows"],
    "many_rows.png": [bare(8, 3, scan), "more image data than its 3 rows"],
    "huge.png": [(() => {
      const b = good.slice(), view = new DataView(b.buffer);
      view.setUint32(16, 0xffffffff), view.setUint32(20, 0x10000);
      return b;
    })(), "bytes of image data: too few to inflate to 4294967295x65536 gray pixels"],
    "not_zlib.png": [new Uint8Array(Buffer.concat([SIGNATURE, ihdr(8, 6),
      chunk("IDAT", Uint8Array.from({length: 59}, (_, i) => i + 1)), chunk("IEND", Buffer.alloc(0))])),
                     "its image data does not inflate (not a zlib stream)"],
  };
}

for (const [file, [bytes, words]] of Object.entries(badCases())) {
  test(`refuses ${file}, naming it: ${words}`, async () => {
    const e = await rejection(decodePng(bytes, file));
    assert.ok(e instanceof Error && e.message.startsWith(`${file}: `), String(e));
    assert.ok(e.message.includes(words), e.message);
  });
}

const unfilterCut = (c, data, cuts) => unfilterCutBy(scanlines, c, data, cuts);

for (const [shape, [width, height, channels]] of Object.entries(SHAPES)) {
  test(`scanlines() of ${shape}, every filter in turn, cut anywhere: in a row, at and after its filter byte`, () => {
    const c = {width, height, channels}, raw = pixels(height, width * channels, 17);
    const data = filtered(raw, width * channels, height, channels, FILTERS.mixed);
    const every = Array.from({length: data.length + 1}, (_, at) => at);
    assertCutAnywhere(assert, scanlines, c, data, raw, every);
  });
}

test("scanlines() refuses too few and too many rows, and a bad filter byte mid-chunk", () => {
  const c = {width: 13, height: 9, channels: 1}, line = 14;
  const data = filtered(pixels(9, 13, 4), 13, 9, 1, [0, 1, 2, 3, 4]);
  assert.throws(() => unfilterCut({...c, height: 8}, data, [line + 3]),
                /cut: holds more image data than its 8 rows/);
  assert.throws(() => unfilterCut({...c, height: 10}, data, [line + 3]),
                /cut: is truncated: its image data holds 9 of its 10 rows/);
  const broken = data.slice();
  broken[line] = 5;  // the second row's filter byte
  for (const cuts of [[], [line], [line + 1], [line - 1, line + 2]]) {
    assert.throws(() => unfilterCut(c, broken, cuts), /cut: its scanline 1 has filter type 5/);
  }
});
