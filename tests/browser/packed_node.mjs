// The browser check's run of a pack's NAME.js under Node, as a user's script would run it: import
// it, await load() with its default URL (NAME.json beside it, read with fs); then its images
// through toFloat32 to OUT.images, its labels to OUT.labels, and its numbers as one JSON line.
// Usage: node packed_node.mjs DIR/NAME.js OUT
import {writeFileSync} from "node:fs";
import {pathToFileURL} from "node:url";

const [loader, out] = process.argv.slice(2);
try {
  const m = await import(pathToFileURL(loader).href);
  const t0 = performance.now();
  const d = await m.load();
  const loadMs = performance.now() - t0;
  if (!(d.images instanceof Uint8Array)) throw new Error("load().images is not a Uint8Array");
  writeFileSync(`${out}.images`, m.toFloat32(d.images));
  writeFileSync(`${out}.labels`, d.labels);
  const {imageHeight, imageWidth, channels, classes, classNames, trainImages, testImages} = d;
  const facts = {imageHeight, imageWidth, channels, classes, classNames, trainImages, testImages};
  console.log(JSON.stringify({loadMs, facts, where: "node", node: process.version}));
} catch (e) {
  console.log(JSON.stringify({error: String(e?.message ?? e)}));
}
