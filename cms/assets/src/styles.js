/* CodeMirror's themes under our Content-Security-Policy.
 *
 * CodeMirror keeps its layout and theme CSS in style-mod modules. On a document, style-mod
 * mounts them as a <style> element, which `style-src 'self'` (no 'unsafe-inline') blocks: the
 * editor would lose its layout and the browser would report a violation. Constructed style
 * sheets (new CSSStyleSheet + document.adoptedStyleSheets, what style-mod itself does inside
 * shadow roots) are not governed by style-src, so every module goes into one constructed sheet
 * instead. No nonce is needed and the page's policy stays as strict as it is.
 */
import { StyleModule } from "style-mod";

const mounted = [];
let sheet = null;

/** Flatten style-mod's nested module lists, keeping their order. */
function flatten(modules, into) {
  for (const module of modules) {
    if (Array.isArray(module)) flatten(module, into);
    else if (module) into.push(module);
  }
  return into;
}

/** style-mod's StyleModule.mount, writing to a constructed sheet adopted by the document. */
function mountAdopted(root, modules) {
  const doc = root.ownerDocument || root;
  if (!sheet) {
    sheet = new doc.defaultView.CSSStyleSheet();
    doc.adoptedStyleSheets = [sheet, ...doc.adoptedStyleSheets];
  }
  let changed = false;
  let position = 0;
  for (const module of flatten([modules], [])) {
    const index = mounted.indexOf(module);
    if (index === -1) {
      // As style-mod does: a new module goes after the ones mounted before it in this list.
      mounted.splice(position, 0, module);
      changed = true;
      position += 1;
    } else if (index >= position) {
      position = index + 1;
    }
  }
  if (changed) {
    sheet.replaceSync(mounted.map((module) => module.getRules()).join("\n"));
  }
}

/** Route every CodeMirror style module into the constructed sheet (once per page). */
export function installAdoptedStyles() {
  if (typeof document !== "undefined" && "adoptedStyleSheets" in document) {
    StyleModule.mount = mountAdopted;
  }
}
