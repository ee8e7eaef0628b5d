// The module Worker of packed.js: imports the NAME.js it is given (?loader=) and loads it there.
import {loadPack} from './packed_load.js';

const loader = new URL(location.href).searchParams.get('loader');
import(new URL(loader, location.href).href).then(loadPack).then(
  (r) => postMessage(r, [r.images.buffer, r.labels.buffer]),
  (e) => postMessage({error: String(e && e.message || e)}));
