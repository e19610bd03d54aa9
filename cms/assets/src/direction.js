/* Right-to-left lines: every line gets dir="auto", so its first strong letter sets its direction.
 *
 * CodeMirror's perLineTextDirection reads each line's direction from the DOM (cursor motion,
 * selection); it does not set it. Only the lines in view are decorated.
 */
import { RangeSetBuilder } from "@codemirror/state";
import { Decoration, ViewPlugin } from "@codemirror/view";

const autoDirection = Decoration.line({ attributes: { dir: "auto" } });

/** dir="auto" decorations for the visible lines. */
function decorate(view) {
  const builder = new RangeSetBuilder();
  let last = -1;
  for (const { from, to } of view.visibleRanges) {
    for (let pos = from; pos <= to; ) {
      const line = view.state.doc.lineAt(pos);
      if (line.number > last) {
        builder.add(line.from, line.from, autoDirection);
        last = line.number;
      }
      pos = line.to + 1;
    }
  }
  return builder.finish();
}

export const lineDirection = ViewPlugin.fromClass(
  class {
    constructor(view) {
      this.decorations = decorate(view);
    }

    update(update) {
      if (update.docChanged || update.viewportChanged) this.decorations = decorate(update.view);
    }
  },
  { decorations: (plugin) => plugin.decorations },
);
