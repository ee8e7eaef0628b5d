// The fixtures the node tests read: MNIST_SPRITE_JS_FIXTURES (tests/test_loader.py sets it), or
// made here by `python -m tests.loaderkit` (the project's .venv when there is one) into a
// temporary folder, so that `node --test tests/js/` runs from a checkout on its own.
import {execFileSync} from "node:child_process";
import {existsSync, mkdtempSync, readFileSync, rmSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function generate() {
  const dir = mkdtempSync(join(tmpdir(), "loader-fixtures-"));
  process.on("exit", () => rmSync(dir, {recursive: true, force: true}));
  const venv = join(ROOT, ".venv", "bin", "python");
  const python = process.env.PYTHON ?? (existsSync(venv) ? venv : "python3");
  execFileSync(python, ["-m", "tests.loaderkit", join(dir, "f")], {cwd: ROOT, stdio: "inherit"});
  return join(dir, "f");
}

export const DIR = process.env.MNIST_SPRITE_JS_FIXTURES || generate();
export const FIX = JSON.parse(readFileSync(join(DIR, "fixtures.json"), "utf8"));
export const path = (p) => join(DIR, p);
export const bytes = (p) => new Uint8Array(readFileSync(path(p)));
export const fileUrl = (p) => pathToFileURL(path(p));
// A bundle's own NAME.js, as pack wrote it beside its NAME.json.
export const loader = (bundle) => import(fileUrl(bundle.js).href);

export {rejection, same} from "./unit/pngs.mjs";
