// Builds the post editor bundle into cms/static/admin/ (`make assets`), or with --check
// builds into a temporary folder and fails when the committed files differ (`make assets-check`).
//
// Output: editor.js (one minified IIFE, no source map), editor.css, and editor.LICENSES.txt
// with the licence of every npm package that ends up in editor.js (read from node_modules).
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = resolve(here, "../static/admin");
const outputs = ["editor.js", "editor.css", "editor.LICENSES.txt"];

/** Build everything into `outDir`. */
async function build(outDir) {
  const result = await esbuild.build({
    entryPoints: [join(here, "src/editor.js")],
    outfile: join(outDir, "editor.js"),
    bundle: true,
    format: "iife",
    minify: true,
    target: ["chrome100", "firefox100", "safari15.4"],
    charset: "utf8",
    // Licences go into editor.LICENSES.txt; no comment blocks in the minified file.
    legalComments: "none",
    sourcemap: false,
    metafile: true,
    logLevel: "warning",
  });
  await esbuild.build({
    entryPoints: [join(here, "src/editor.css")],
    outfile: join(outDir, "editor.css"),
    bundle: true,
    minify: false,
    charset: "utf8",
    logLevel: "warning",
  });
  writeFileSync(join(outDir, "editor.LICENSES.txt"), licences(result.metafile));
}

/** The licence texts of the npm packages whose code is in the bundle, sorted by name. */
function licences(metafile) {
  const packages = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      // Modules esbuild dropped entirely (tree-shaken) are not shipped.
      const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
      if (match && bytesInOutput > 0) packages.add(match[1]);
    }
  }
  const parts = [
    "Third-party software bundled into editor.js (built from cms/assets by `make assets`).",
    "",
  ];
  for (const name of [...packages].sort()) {
    const folder = join(here, "node_modules", name);
    const meta = JSON.parse(readFileSync(join(folder, "package.json"), "utf8"));
    const file = readdirSync(folder)
      .sort()
      .find((entry) => /^(licen[cs]e|copying)(\.|$)/i.test(entry));
    if (!file) throw new Error(`${name}: no licence file in the package`);
    parts.push("=".repeat(78));
    parts.push(`${name} ${meta.version} (${meta.license})`);
    parts.push("=".repeat(78));
    parts.push(readFileSync(join(folder, file), "utf8").trim(), "");
  }
  return parts.join("\n") + "\n";
}

if (process.argv.includes("--check")) {
  const temp = mkdtempSync(join(tmpdir(), "cms-assets-"));
  try {
    await build(temp);
    const stale = outputs.filter((name) => {
      const committed = join(staticDir, name);
      return !existsSync(committed) || !readFileSync(committed).equals(readFileSync(join(temp, name)));
    });
    if (stale.length) {
      console.error(`Out of date (run \`make assets\`): ${stale.map((n) => relative(process.cwd(), join(staticDir, n))).join(", ")}`);
      process.exit(1);
    }
    console.log("The committed editor bundle matches a fresh build.");
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
} else {
  await build(staticDir);
  for (const name of outputs) console.log(`built ${relative(process.cwd(), join(staticDir, name))}`);
}
