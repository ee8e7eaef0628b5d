// TensorFlow.js's own ops on the CPU backend, the reference tests/test_imaging.py holds
// mnist_sprite/imaging/ops.py against. Reads cases as JSON on stdin:
//   [{"op": "resizeBilinear" | "rgbToGrayscale", "shape": [H, W, C], "values": [...],
//     "size": [H2, W2]}]
// and writes, per case, the op's float32 results as raw little-endian bytes, base64-encoded,
// one JSON list on stdout. TFJS_PATH names the @tensorflow/tfjs folder to require.
"use strict";
const tf = require(process.env.TFJS_PATH || "@tensorflow/tfjs");

async function main() {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  await tf.setBackend("cpu");
  const out = [];
  for (const c of JSON.parse(text)) {
    const image = tf.tensor(c.values, c.shape, "float32");
    let result;
    if (c.op === "resizeBilinear") result = tf.image.resizeBilinear(image, c.size);
    else if (c.op === "rgbToGrayscale") result = tf.image.rgbToGrayscale(image);
    else throw new Error(`unknown op ${c.op}`);
    const values = await result.data();
    out.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("base64"));
    tf.dispose([image, result]);
  }
  process.stdout.write(JSON.stringify({ version: tf.version.tfjs, backend: tf.getBackend(), results: out }));
}
main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
