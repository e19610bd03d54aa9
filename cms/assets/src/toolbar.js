/* The formatting toolbar: a WAI-ARIA toolbar (one Tab stop, arrow keys move between buttons). */

const SVG = "http://www.w3.org/2000/svg";

// 24x24 stroke icons drawn for this editor (paths only; styled by editor.css).
const ICONS = {
  bold: "M7 5h6a3.5 3.5 0 0 1 0 7H7zM7 12h7a3.5 3.5 0 0 1 0 7H7z",
  italic: "M10 5h8M6 19h8M14 5l-4 14",
  link: "M10 14a4 4 0 0 0 5.66 0l3-3a4 4 0 0 0-5.66-5.66l-1 1M14 10a4 4 0 0 0-5.66 0l-3 3a4 4 0 0 0 5.66 5.66l1-1",
  heading: "M6 5v14M18 5v14M6 12h12",
  quote: "M4 6h16M8 11h12M8 16h12M4 11v5",
  bulletList: "M9 6h11M9 12h11M9 18h11M4.5 6h.01M4.5 12h.01M4.5 18h.01",
  numberedList: "M10 6h10M10 12h10M10 18h10M4 5l1.5-1v5M3.5 15.5a1.5 1.5 0 1 1 2.5 1.2L3.5 19.5H6.5",
  code: "M8 8l-5 4 5 4M16 8l5 4-5 4M14 5l-4 14",
  table: "M4 5h16v14H4zM4 10h16M4 15h16M12 5v14",
  image: "M4 5h16v14H4zM4 16l5-5 4 4 2-2 5 5M15.5 9.5h.01",
};

/** An icon for the toolbar button `name`. */
function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

/** The shortcut as this platform writes it (Ctrl+B or ⌘B). */
function shortcutText(key) {
  const mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  return mac ? `⌘${key}` : `Ctrl+${key}`;
}

/**
 * Build the toolbar for `items` ({name, label, run, key?} or "|" for a separator);
 * `run` is called with no arguments.
 */
export function buildToolbar(items, label) {
  const bar = document.createElement("div");
  bar.className = "cms-editor-toolbar";
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", label);
  const buttons = [];
  for (const item of items) {
    if (item === "|") {
      const separator = document.createElement("span");
      separator.className = "cms-toolbar-separator";
      separator.setAttribute("role", "separator");
      bar.append(separator);
      continue;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "cms-toolbar-button";
    button.dataset.command = item.name;
    button.setAttribute("aria-label", item.label);
    button.title = item.key ? `${item.label} (${shortcutText(item.key)})` : item.label;
    if (item.key) button.setAttribute("aria-keyshortcuts", `Control+${item.key} Meta+${item.key}`);
    button.tabIndex = buttons.length ? -1 : 0;
    button.append(icon(item.name));
    // Keep the editor's selection: a mouse press on a button must not take the focus first.
    button.addEventListener("mousedown", (event) => event.preventDefault());
    button.addEventListener("click", () => item.run());
    buttons.push(button);
    bar.append(button);
  }
  bar.addEventListener("keydown", (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index === -1) return;
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: buttons.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = buttons[(moves[event.key] + buttons.length) % buttons.length];
    buttons[index].tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });
  return bar;
}
