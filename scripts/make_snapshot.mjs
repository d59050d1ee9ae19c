// Boot Pyodide in Node, install the model's wheel, import it, and save a gzip memory snapshot the browser can start
// from (several times faster than a fresh start; see widgets/js/hb-0-runtime.js).
//
// Usage: node scripts/make_snapshot.mjs WHEEL OUT_DIR
// Writes OUT_DIR/snapshot.bin.gz and OUT_DIR/snapshot.json ({wheel_sha256, pyodide, bytes}); does nothing when
// snapshot.json already names this wheel and this Pyodide. The site build ships the snapshot only if it matches the
// wheel it ships, so a stale snapshot can never run an old model.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [wheelPath, outDir] = process.argv.slice(2);
if (!wheelPath || !outDir) {
  console.error("usage: node scripts/make_snapshot.mjs WHEEL OUT_DIR");
  process.exit(2);
}
const pyodideDir = join(root, "node_modules", "pyodide");
const { version } = JSON.parse(readFileSync(join(pyodideDir, "package.json"), "utf8"));
const wheel = readFileSync(wheelPath);
const wheelSha = createHash("sha256").update(wheel).digest("hex");
const metaPath = join(outDir, "snapshot.json");
if (existsSync(metaPath) && existsSync(join(outDir, "snapshot.bin.gz"))) {
  const meta = JSON.parse(readFileSync(metaPath, "utf8"));
  if (meta.wheel_sha256 === wheelSha && meta.pyodide === version) {
    console.log(`make_snapshot: up to date (${outDir})`);
    process.exit(0);
  }
}
const started = Date.now();
const { loadPyodide } = await import(join(pyodideDir, "pyodide.mjs"));
const pyodide = await loadPyodide({ indexURL: pyodideDir + "/", _makeSnapshot: true });
const sitePackages = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
pyodide.unpackArchive(new Uint8Array(wheel), "wheel", { extractDir: sitePackages });
const calculations = pyodide.runPython("import sizing.api, sizing.browser; sizing.browser.warm()");
// The files go with the file system, which a snapshot does not keep: the browser unpacks the wheel again.
const snapshot = pyodide.makeMemorySnapshot();
const packed = gzipSync(snapshot, { level: 6 });
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "snapshot.bin.gz"), packed);
writeFileSync(metaPath, JSON.stringify({ wheel_sha256: wheelSha, pyodide: version, bytes: snapshot.length }, null, 2) + "\n");
console.log(`make_snapshot: ${calculations} calculations imported; snapshot ${(snapshot.length / 1e6).toFixed(1)} MB, ` +
            `${(packed.length / 1e6).toFixed(1)} MB gzip, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
