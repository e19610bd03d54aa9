/* Markdown formatting commands for the toolbar and the keyboard shortcuts.
 *
 * Each is a CodeMirror command (view => handled?) working on every selection range, undoable
 * in one step.
 */
import { EditorSelection } from "@codemirror/state";
import { indentMore } from "@codemirror/commands";

/** Wrap each selection in `before`/`after`, or unwrap it when it is already wrapped. */
function wrap(before, after = before) {
  return (view) => {
    const { state } = view;
    const change = state.changeByRange((range) => {
      const outerFrom = range.from - before.length;
      const outerTo = range.to + after.length;
      const wrapped =
        outerFrom >= 0 &&
        state.sliceDoc(outerFrom, range.from) === before &&
        state.sliceDoc(range.to, outerTo) === after;
      if (wrapped) {
        return {
          changes: [
            { from: outerFrom, to: range.from },
            { from: range.to, to: outerTo },
          ],
          range: EditorSelection.range(outerFrom, range.to - before.length),
        };
      }
      return {
        changes: [
          { from: range.from, insert: before },
          { from: range.to, insert: after },
        ],
        range: EditorSelection.range(range.from + before.length, range.to + before.length),
      };
    });
    view.dispatch(state.update(change, { scrollIntoView: true, userEvent: "input.format" }));
    view.focus();
    return true;
  };
}

export const bold = wrap("**");
export const italic = wrap("*");
export const inlineCode = wrap("`");

/** [selection](https://) with the address selected, or [](https://) with the cursor in the text. */
export function link(view) {
  const { state } = view;
  const change = state.changeByRange((range) => {
    const text = state.sliceDoc(range.from, range.to);
    const looksLikeUrl = /^https?:\/\/\S+$/.test(text);
    if (looksLikeUrl) {
      // A selected address becomes the target; the cursor goes where the words belong.
      return {
        changes: { from: range.from, to: range.to, insert: `[](${text})` },
        range: EditorSelection.cursor(range.from + 1),
      };
    }
    const insert = `[${text}](https://)`;
    const urlStart = range.from + text.length + 3;
    return {
      changes: { from: range.from, to: range.to, insert },
      range: text
        ? EditorSelection.range(urlStart, urlStart + "https://".length)
        : EditorSelection.cursor(range.from + 1),
    };
  });
  view.dispatch(state.update(change, { scrollIntoView: true, userEvent: "input.format" }));
  view.focus();
  return true;
}

/** The lines touched by the selection, each once. */
function selectedLines(state) {
  const lines = [];
  let last = -1;
  for (const range of state.selection.ranges) {
    for (let pos = range.from; pos <= range.to; ) {
      const line = state.doc.lineAt(pos);
      if (line.number > last) {
        lines.push(line);
        last = line.number;
      }
      pos = line.to + 1;
    }
  }
  return lines;
}

/** Apply prefix changes; a cursor where a prefix went in moves after it (to type on). */
function dispatchLineChanges(view, changes) {
  const changeSet = view.state.changes(changes);
  view.dispatch({
    changes: changeSet,
    selection: view.state.selection.map(changeSet, 1),
    scrollIntoView: true,
    userEvent: "input.format",
  });
  view.focus();
}

const LINE_PREFIX = /^(\s*)(#{1,6} |> |[-*+] (\[[ xX]\] )?|\d+[.)] )?/;

/** Give every selected line the prefix `make(index)`, or remove it when all have it already. */
function linePrefix(pattern, make) {
  return (view) => {
    const { state } = view;
    const lines = selectedLines(state);
    const all = lines.every((line) => pattern.test(line.text));
    const changes = lines.map((line, index) => {
      const [whole, indent] = line.text.match(LINE_PREFIX);
      const from = line.from + indent.length;
      return { from, to: line.from + whole.length, insert: all ? "" : make(index) };
    });
    dispatchLineChanges(view, changes);
    return true;
  };
}

export const quote = linePrefix(/^\s*> /, () => "> ");
export const bulletList = linePrefix(/^\s*[-*+] /, () => "- ");
export const numberedList = linePrefix(/^\s*\d+[.)] /, (index) => `${index + 1}. `);

/** Heading levels cycle: none -> ## -> ### -> none (# is the title's). */
export function heading(view) {
  const { state } = view;
  const changes = selectedLines(state).map((line) => {
    const [whole, indent] = line.text.match(LINE_PREFIX);
    const current = (whole.match(/#+/) || [""])[0].length;
    const next = current === 0 ? "## " : current === 2 ? "### " : current === 1 ? "## " : "";
    return { from: line.from + indent.length, to: line.from + whole.length, insert: next };
  });
  dispatchLineChanges(view, changes);
  return true;
}

/** Inline code for a selection within a line; a fenced block otherwise. */
export function code(view) {
  const { state } = view;
  const range = state.selection.main;
  const from = state.doc.lineAt(range.from);
  const to = state.doc.lineAt(range.to);
  const multiLine = from.number !== to.number;
  const emptyLine = range.empty && from.text.trim() === "";
  if (!multiLine && !emptyLine) return inlineCode(view);
  const body = state.sliceDoc(from.from, to.to);
  const before = from.from > 0 && state.doc.lineAt(from.from - 1).text.trim() ? "\n" : "";
  const insert = `${before}\`\`\`\n${body}\n\`\`\``;
  const cursor = from.from + before.length + 4 + (multiLine ? body.length : 0);
  view.dispatch({
    changes: { from: from.from, to: to.to, insert },
    selection: EditorSelection.cursor(cursor),
    scrollIntoView: true,
    userEvent: "input.format",
  });
  view.focus();
  return true;
}

/** A two-column table with one empty row, the cursor in the first heading cell. */
export function table(columnName) {
  return (view) => {
    const { state } = view;
    const range = state.selection.main;
    const line = state.doc.lineAt(range.from);
    const first = columnName(1);
    const second = columnName(2);
    const rows = [`| ${first} | ${second} |`, "| --- | --- |", "|  |  |"].join("\n");
    // A table needs blank lines around it to be one.
    const atLineStart = range.from === line.from && line.text.trim() === "";
    const before = atLineStart ? (line.number > 1 && state.doc.line(line.number - 1).text.trim() ? "\n" : "") : "\n\n";
    const insert = `${before}${rows}\n`;
    const start = range.from + before.length + 2;
    view.dispatch({
      changes: { from: range.from, to: range.to, insert },
      selection: EditorSelection.range(start, start + first.length),
      scrollIntoView: true,
      userEvent: "input.format",
    });
    view.focus();
    return true;
  };
}

const LIST_ITEM = /^(\s*)([-*+]|\d+[.)]) /;

/** Tab in a list item: nest it under the item above (its content column); else indent. */
export function indentListItem(view) {
  const { state } = view;
  const lines = selectedLines(state);
  const changes = [];
  for (const line of lines) {
    const item = line.text.match(LIST_ITEM);
    if (!item || line.number === 1) return false;
    let above = state.doc.line(line.number - 1);
    while (above.number > 1 && !above.text.trim()) above = state.doc.line(above.number - 1);
    const parent = above.text.match(LIST_ITEM);
    if (!parent) return false;
    const column = parent[1].length + parent[2].length + 1;
    if (item[1].length >= column) return indentMore(view);
    changes.push({ from: line.from, to: line.from + item[1].length, insert: " ".repeat(column) });
  }
  if (!changes.length) return false;
  view.dispatch({ changes, userEvent: "input.indent" });
  return true;
}
