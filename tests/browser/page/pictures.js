// Your own images as a page draws them: each file an Image (the EXIF orientation applied, as
// browsers do by default), drawn once onto a canvas of its own size, filled first with white
// or black for cfg.alpha 'white' or 'black'; getImageData; for 'ink' the alpha of each pixel,
// else its red, green and blue; divided by 255 into a Float32Array as data.js does. The
// Python side compares it with `mnist-sprite pack` of the same files. cfg.control
// 'reciprocal' computes v * float32(1/255) instead, which must not match.
import {post} from './post.js';

function draw(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onerror = () => reject(new Error(`the browser could not decode ${url}`));
    img.onload = () => resolve(img);
    img.src = url;
  });
}

async function run() {
  const cfg = await (await fetch('config.json')).json();
  const scale = cfg.control === 'reciprocal' ? (v) => v * Math.fround(1 / 255) : (v) => v / 255;
  const per = cfg.alpha === 'ink' ? 1 : 3;
  const out = new Float32Array(cfg.values);
  let at = 0;
  for (const url of cfg.images) {
    const img = await draw(url);
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    if (cfg.alpha === 'white' || cfg.alpha === 'black') {
      ctx.fillStyle = cfg.alpha;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    }
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let j = 0; j < data.length / 4; j++) {
      if (per === 1) {
        out[at++] = scale(data[j * 4 + 3]);
      } else {
        for (let c = 0; c < 3; c++) out[at++] = scale(data[j * 4 + c]);
      }
    }
  }
  if (at !== cfg.values) throw new Error(`drew ${at} values where pack wrote ${cfg.values}`);
  await post('images', out);
  return {drawn: cfg.images.length};
}

run().then((r) => r, (e) => ({error: String(e && e.message || e)})).then((r) => {
  window.__result = r;
});
