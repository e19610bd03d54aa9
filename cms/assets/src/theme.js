/* How the text looks while writing: a reading font and measure, headings larger, marks quiet. */
import { EditorView } from "@codemirror/view";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";

const mono = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace";

export const writingTheme = EditorView.theme({
  "&": {
    color: "#1f2328",
    backgroundColor: "#fff",
    fontSize: "1.125rem",
    minHeight: "24rem",
  },
  "&.cm-focused": { outline: "none" },
  ".cm-scroller": {
    fontFamily:
      "Charter, 'Bitstream Charter', 'Sitka Text', Cambria, Georgia, 'DejaVu Serif', serif",
    lineHeight: "1.7",
    // The whole box is the writing surface: a click below the last line lands in the text.
    flexGrow: "1",
  },
  ".cm-content": {
    maxWidth: "42rem",
    margin: "0 auto",
    padding: "1.5rem 1.25rem 4rem",
    caretColor: "#1f2328",
  },
  // A right-to-left line (dir="auto", see direction.js) also starts at the right.
  ".cm-line": { padding: "0", textAlign: "start" },
  ".cm-placeholder": { color: "#6e7781", fontStyle: "italic" },
  ".cm-selectionBackground, ::selection": { backgroundColor: "#cfe3ff" },
});

const markdownStyle = HighlightStyle.define([
  { tag: tags.heading1, fontSize: "1.6em", fontWeight: "700", lineHeight: "1.3" },
  { tag: tags.heading2, fontSize: "1.35em", fontWeight: "700", lineHeight: "1.35" },
  { tag: tags.heading3, fontSize: "1.15em", fontWeight: "700" },
  { tag: [tags.heading4, tags.heading5, tags.heading6], fontWeight: "700" },
  { tag: tags.strong, fontWeight: "700" },
  { tag: tags.emphasis, fontStyle: "italic" },
  { tag: tags.strikethrough, textDecoration: "line-through" },
  { tag: tags.link, color: "#0b57d0" },
  { tag: tags.url, color: "#57606a", fontSize: "0.9em" },
  { tag: tags.quote, color: "#57606a", fontStyle: "italic" },
  { tag: tags.monospace, fontFamily: mono, fontSize: "0.88em", color: "#6e2b8f" },
  // The Markdown marks themselves (#, **, >, list bullets) stay visible but quiet.
  { tag: [tags.processingInstruction, tags.contentSeparator], color: "#6e7781", fontWeight: "400" },
  { tag: tags.meta, color: "#6e7781" },
]);

export const writingHighlight = syntaxHighlighting(markdownStyle);
