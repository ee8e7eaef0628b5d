// Measures what this engine's 2D canvas does (tests/browser/probe.py): for each step of
// config.json, an Image of step.url drawn with drawImage onto one canvas step.width x
// step.height, never cleared, once per entry of step.draws ([sx, sy, sw, sh] of the image, drawn
// at 0, 0 unscaled), each followed by getImageData of the whole canvas; the RGBA bytes of all
// the reads are sent back as result/STEP.NAME. An image that does not decode is reported, not
// thrown.
import {post} from './post.js';

function loaded(url) {
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve({img});
    img.onerror = () => resolve({error: `the browser could not decode ${url}`});
    img.src = url;
  });
}

async function run() {
  const cfg = await (await fetch('config.json')).json();
  const steps = [];
  for (const step of cfg.steps) {
    const {img, error} = await loaded(step.url);
    if (error) {
      steps.push({name: step.name, error});
      continue;
    }
    const canvas = document.createElement('canvas');
    canvas.width = step.width;
    canvas.height = step.height;
    const ctx = canvas.getContext('2d');
    const size = step.width * step.height * 4;
    const bytes = new Uint8Array(size * step.draws.length);
    step.draws.forEach(([sx, sy, sw, sh], i) => {
      ctx.drawImage(img, sx, sy, sw, sh, 0, 0, sw, sh);
      bytes.set(ctx.getImageData(0, 0, step.width, step.height).data, i * size);
    });
    await post(step.name, bytes);
    steps.push({name: step.name, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight});
  }
  return {steps};
}

run().then((r) => r, (e) => ({error: String(e && e.message || e)})).then((r) => {
  window.__result = r;
});
