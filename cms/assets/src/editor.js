/* The post editor: CodeMirror 6 with Markdown in place of the body textarea.
 *
 * The textarea #body_md stays in the form (hidden) and gets every change, so the form submits
 * as before and works without script. The editor adds a toolbar and shortcuts, a live preview,
 * word count, HTML paste as Markdown, image upload with alt text, and autosave. Settings and
 * translated messages come from #cms-editor-config (admin/posts/_editor_config.html).
 */
import { EditorState, Prec } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentLess, indentMore } from "@codemirror/commands";
import { syntaxTree } from "@codemirror/language";
import { markdownKeymap, markdownLanguage } from "@codemirror/lang-markdown";
import { installAdoptedStyles } from "./styles.js";
import { readConfig } from "./config.js";
import * as format from "./commands.js";
import { buildToolbar } from "./toolbar.js";
import { htmlToMarkdown } from "./paste.js";
import { ImageUploader, uploads } from "./images.js";
import { livePreview } from "./preview.js";
import { autosave } from "./autosave.js";
import { showCount } from "./wordcount.js";
import { writingHighlight, writingTheme } from "./theme.js";
import { lineDirection } from "./direction.js";

const IMAGE_TYPES = "image/png,image/jpeg,image/gif,image/webp,image/avif";
const LIST_LINE = /^\s*([-*+]|\d+[.)]) /;

/** Is the cursor inside a fenced or indented code block? */
function inCode(state) {
  for (let node = syntaxTree(state).resolveInner(state.selection.main.head, -1); node; node = node.parent) {
    if (node.name === "FencedCode" || node.name === "CodeBlock") return true;
  }
  return false;
}

/** Tab nests list items and indents code; elsewhere it moves the focus on, as on any page. */
function tabKey(shift) {
  return (view) => {
    const line = view.state.doc.lineAt(view.state.selection.main.head);
    if (LIST_LINE.test(line.text)) {
      if (!shift) format.indentListItem(view) || indentMore(view);
      else indentLess(view);
      return true;
    }
    if (inCode(view.state)) return shift ? indentLess(view) : indentMore(view);
    return false;
  };
}

/** Image files among dropped or pasted data. */
function imageFiles(transfer) {
  if (!transfer) return [];
  return [...transfer.files].filter((file) => file.type.startsWith("image/"));
}

/** The button Ctrl/Cmd+S presses: Save (draft), or Update on a published post. */
function saveButton(form) {
  return (
    form.querySelector("button[name='workflow'][value='save']") ||
    form.querySelector("button[name='workflow'][value='update']")
  );
}

function mountEditor(mount, textarea) {
  installAdoptedStyles();
  const config = readConfig(document);
  const { t } = config;
  const form = textarea.form;
  const label = document.querySelector(`label[for="${textarea.id}"]`);
  const wordCount = document.getElementById("cms-word-count");
  const previewOutput = document.getElementById("cms-live-preview");
  const status = document.getElementById("cms-autosave-status");

  let writingBack = false;
  const sync = () => {
    const text = view.state.doc.toString();
    if (textarea.value !== text) textarea.value = text;
  };

  let countTimer = null;
  const preview = previewOutput && config.previewUrl
    ? livePreview({ output: previewOutput, form, config, getText: () => view.state.doc.toString() })
    : null;
  const saver = form ? autosave({ form, config, status, sync }) : null;

  const onChange = EditorView.updateListener.of((update) => {
    if (!update.docChanged) return;
    writingBack = true;
    sync();
    // Whatever else watches the body (presence, autosave) hears about the change.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    writingBack = false;
    if (preview) preview.schedule();
    window.clearTimeout(countTimer);
    countTimer = window.setTimeout(() => showCount(wordCount, view.state.doc.toString(), config), 200);
  });

  let uploader = null;
  const pickImage = () => {
    const input = document.createElement("input");
    input.type = "file";
    input.accept = IMAGE_TYPES;
    input.multiple = true;
    input.addEventListener("change", () => {
      if (input.files.length) uploader.uploadAll([...input.files], view.state.selection.main.head);
    });
    input.click();
  };

  const domEvents = EditorView.domEventHandlers({
    drop(event, view) {
      const files = imageFiles(event.dataTransfer);
      if (!files.length || !config.uploadUrl) return false;
      event.preventDefault();
      const pos = view.posAtCoords({ x: event.clientX, y: event.clientY }, false);
      uploader.uploadAll(files, pos ?? view.state.selection.main.head);
      return true;
    },
    paste(event, view) {
      const data = event.clipboardData;
      if (!data) return false;
      const files = imageFiles(data);
      if (files.length && config.uploadUrl) {
        event.preventDefault();
        uploader.uploadAll(files, view.state.selection.main.head);
        return true;
      }
      const html = data.getData("text/html");
      if (!html) return false;
      const markdown = htmlToMarkdown(html);
      if (!markdown) return false;
      event.preventDefault();
      view.dispatch(view.state.replaceSelection(markdown), { userEvent: "input.paste", scrollIntoView: true });
      return true;
    },
  });

  const shortcuts = Prec.high(
    keymap.of([
      { key: "Mod-b", run: format.bold },
      { key: "Mod-i", run: format.italic },
      { key: "Mod-k", run: format.link },
      { key: "Tab", run: tabKey(false), shift: tabKey(true) },
    ]),
  );

  const view = new EditorView({
    parent: mount,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        history(),
        shortcuts,
        Prec.high(keymap.of(markdownKeymap)),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        markdownLanguage,
        writingTheme,
        writingHighlight,
        EditorView.lineWrapping,
        EditorView.perLineTextDirection.of(true),
        lineDirection,
        placeholder(t("placeholder")),
        EditorView.contentAttributes.of({
          "aria-label": label ? label.textContent.trim() : t("editorLabel"),
          spellcheck: "true",
          autocorrect: "on",
          autocapitalize: "sentences",
          lang: document.documentElement.lang || "",
        }),
        uploads,
        domEvents,
        onChange,
      ],
    }),
  });
  view.dom.classList.add("cms-editor-view");

  const message = document.createElement("p");
  message.className = "cms-editor-message";
  message.setAttribute("role", "alert");
  message.hidden = true;
  uploader = new ImageUploader({ view, form, config, status: message });

  const run = (command) => () => command(view);
  const items = [
    { name: "bold", label: t("bold"), run: run(format.bold), key: "B" },
    { name: "italic", label: t("italic"), run: run(format.italic), key: "I" },
    { name: "link", label: t("link"), run: run(format.link), key: "K" },
    "|",
    { name: "heading", label: t("heading"), run: run(format.heading) },
    { name: "quote", label: t("quote"), run: run(format.quote) },
    { name: "bulletList", label: t("bulletList"), run: run(format.bulletList) },
    { name: "numberedList", label: t("numberedList"), run: run(format.numberedList) },
    "|",
    { name: "code", label: t("code"), run: run(format.code) },
    { name: "table", label: t("table"), run: run(format.table((n) => t("tableColumn", { n }))) },
  ];
  if (config.uploadUrl) items.push({ name: "image", label: t("image"), run: pickImage });
  const toolbar = buildToolbar(items, t("toolbar"));
  mount.classList.add("cms-editor");
  mount.prepend(toolbar, message);

  // The textarea keeps the value (and stays the form field); the editor takes its place.
  textarea.hidden = true;
  textarea.setAttribute("aria-hidden", "true");
  textarea.tabIndex = -1;
  if (label) label.addEventListener("click", () => view.focus());
  // A required body left empty: the browser cannot point at a hidden field, so the editor.
  textarea.addEventListener("invalid", () => view.focus());
  // The image library panel (post-editor.js) asks before writing into the textarea: the text
  // goes in at the editor's cursor instead.
  textarea.addEventListener("cms-editor:insert", (event) => {
    const text = event.detail && event.detail.text;
    if (typeof text !== "string") return;
    event.preventDefault();
    view.dispatch(view.state.replaceSelection(text), { userEvent: "input.paste", scrollIntoView: true });
    view.focus();
  });
  // Any other script writing into the textarea reaches the editor too.
  textarea.addEventListener("input", () => {
    if (writingBack || textarea.value === view.state.doc.toString()) return;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: textarea.value } });
  });

  if (form) {
    form.addEventListener("input", () => saver.schedule());
    form.addEventListener("change", () => saver.schedule());
    document.addEventListener("keydown", (event) => {
      const mod = event.ctrlKey || event.metaKey;
      if (!mod || event.altKey || event.shiftKey || event.key.toLowerCase() !== "s") return;
      event.preventDefault();
      if (document.querySelector("dialog[open]")) return;
      sync();
      const button = saveButton(form);
      if (button) form.requestSubmit(button);
      else form.requestSubmit();
    });
  }

  showCount(wordCount, view.state.doc.toString(), config);
  if (preview) preview.now();
  return view;
}

function start() {
  const mount = document.getElementById("cms-editor");
  if (!mount) return;
  const textarea = document.getElementById(mount.dataset.for || "body_md");
  if (!textarea || textarea.tagName !== "TEXTAREA") return;
  mountEditor(mount, textarea);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
