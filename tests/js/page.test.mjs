// NAME.js as a page runs it: a document (its baseURI, a page at /app/) is there before the module
// is imported, so it resolves and fetches as in a window. A url given is relative to the page,
// even "./NAME.json", the default's string (issue 28: it was read beside the module); a page
// from file:// is told in one Error what it needs.
import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {createServer} from "node:http";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {FIX, bytes, fileUrl, path, rejection, same} from "./fixtures.mjs";

const {gray} = FIX.bundles;
const folder = path(gray.json.replace(/[^/]*$/, ""));
let server, origin, load;
const requests = [];

before(async () => {
  server = createServer((req, res) => {  // /app/NAME: the pack's file NAME
    requests.push(req.url);
    try {
      const body = readFileSync(join(folder, req.url.replace(/^\/app\//, "").replace(/[/\\]/g, "")));
      res.writeHead(req.url.startsWith("/app/") ? 200 : 404).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  globalThis.document = {baseURI: `${origin}/app/index.html`};
  ({load} = await import(`${fileUrl(gray.js).href}?page`));
});
after(() => server.close());

test("load('./digits.json') in a page at /app/ fetches /app/digits.json and every shard there", async () => {
  const d = await load("./digits.json");
  assert.ok(same(d.images, bytes(gray.x)) && same(d.labels, bytes(gray.y)));
  assert.equal(requests[0], "/app/digits.json");
  assert.ok(requests.every((u) => u.startsWith("/app/digits")), requests.join(" "));
});

test("a page from file:// (here the module's own file: URL) is one Error saying to serve it", async () => {
  for (const e of [await rejection(load()), await rejection(load(fileUrl(gray.json).href))]) {
    assert.ok(e.message.includes("digits.json") && e.message.includes("python3 -m http.server"), e.message);
  }
});

test("a failed fetch and a 404 in a page are Errors naming the file", async () => {
  assert.match((await rejection(load("/nowhere/digits.json"))).message, /nowhere\/digits\.json: HTTP 404/);
  assert.match((await rejection(load("http://127.0.0.1:1/digits.json"))).message,
               /127\.0\.0\.1:1\/digits\.json: the fetch failed/);
});
