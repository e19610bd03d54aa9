/* Pasted HTML (Google Docs, Word, web pages) to clean Markdown, with turndown + its GFM plugin.
 *
 * The clipboard's HTML is parsed into an inert document (DOMParser: no script runs, nothing
 * loads), tidied with DOM operations (what Docs and Word mean by their inline styles), then
 * converted by turndown.
 */
import TurndownService from "turndown";
import { gfm } from "turndown-plugin-gfm";

const BLOCKS = "h1,h2,h3,h4,h5,h6";

const BLOCK_TAGS = /^(P|DIV|H[1-6]|UL|OL|LI|TABLE|BLOCKQUOTE|PRE|HR|SECTION|ARTICLE)$/;

/** The next or previous sibling that is not blank text (null at the edge). */
function significantSibling(node, direction) {
  let sibling = node[direction];
  while (sibling && sibling.nodeType === 3 && !sibling.textContent.trim()) sibling = sibling[direction];
  return sibling;
}

/** Replace `element` with its children. */
function unwrap(element) {
  element.replaceWith(...element.childNodes);
}

/** Wrap the children of `element` in a new `tag` element inside it. */
function wrapChildren(element, tag) {
  const wrapper = element.ownerDocument.createElement(tag);
  wrapper.append(...element.childNodes);
  element.append(wrapper);
}

/** Remove comments (Word's conditional ones included) below `root`. */
function dropComments(root) {
  const doc = root.ownerDocument || root;
  const walker = doc.createTreeWalker(root, 128 /* NodeFilter.SHOW_COMMENT */);
  const comments = [];
  while (walker.nextNode()) comments.push(walker.currentNode);
  comments.forEach((comment) => comment.remove());
}

/** Word's fake lists (paragraphs styled mso-list: lN levelM) become real nested lists. */
function wordLists(body) {
  const doc = body.ownerDocument;
  const paragraphs = [...body.querySelectorAll("p")].filter((p) =>
    /mso-list:\s*l\d+\s+level\d+/i.test(p.getAttribute("style") || ""),
  );
  let stack = [];
  let previous = null;
  for (const paragraph of paragraphs) {
    const level = Number((paragraph.getAttribute("style").match(/level(\d+)/i) || [0, 1])[1]);
    const marker = paragraph.querySelector("[style*='mso-list:Ignore' i], [style*='mso-list: Ignore' i]");
    const ordered = marker ? /^\s*[\w]{1,4}[.)]/.test(marker.textContent) : false;
    if (marker) marker.remove();
    if (!previous || previous.nextElementSibling !== paragraph) stack = [];
    while (stack.length > level) stack.pop();
    while (stack.length < level) {
      const list = doc.createElement(ordered ? "ol" : "ul");
      if (stack.length) {
        const parentList = stack[stack.length - 1];
        (parentList.lastElementChild || parentList).append(list);
      } else {
        paragraph.before(list);
      }
      stack.push(list);
    }
    const item = doc.createElement("li");
    item.append(...paragraph.childNodes);
    stack[stack.length - 1].append(item);
    // The emptied paragraph stays until the end: the next one's adjacency is checked on it.
    previous = paragraph;
  }
  paragraphs.forEach((p) => p.remove());
}

/** Undo what office suites and web pages wrap around the content. */
export function tidy(doc) {
  const body = doc.body;
  body.querySelectorAll("script,style,meta,link,title,template,noscript,iframe,object,embed,svg,xml,head").forEach((e) => e.remove());
  dropComments(body);
  // Word's own elements (<o:p> and friends) carry nothing a reader sees.
  [...body.querySelectorAll("*")].filter((e) => e.tagName.includes(":")).forEach((e) => e.remove());
  wordLists(body);

  // Google Docs wraps the whole clipboard in <b style="font-weight:normal" id="docs-internal-guid-...">.
  body.querySelectorAll("b, strong").forEach((element) => {
    const weight = element.style.fontWeight;
    if (weight === "normal" || (weight && Number(weight) < 600)) unwrap(element);
  });
  // Docs marks bold, italic and struck text with spans' inline styles, not with elements.
  body.querySelectorAll("span").forEach((span) => {
    const style = span.style;
    const weight = style.fontWeight;
    if (!span.textContent.trim()) {
      // Empty spans go (a space stays a space); one holding a line break or image is unwrapped.
      if (span.firstElementChild) unwrap(span);
      else span.replaceWith(span.textContent ? " " : "");
      return;
    }
    if (style.textDecorationLine.includes("line-through") || style.textDecoration.includes("line-through")) {
      wrapChildren(span, "del");
    }
    if (style.fontStyle === "italic") wrapChildren(span, "em");
    const heavy = weight === "bold" || weight === "bolder" || Number(weight) >= 600;
    if (heavy && !span.closest(`${BLOCKS},th,b,strong`)) wrapChildren(span, "strong");
  });
  // Line breaks Docs puts between paragraphs (for its spacing) and at the end of a block are
  // no line breaks in the text; only those between words are.
  body.querySelectorAll("br").forEach((br) => {
    const before = significantSibling(br, "previousSibling");
    const after = significantSibling(br, "nextSibling");
    const blockOrEdge = (node) => !node || (node.nodeType === 1 && BLOCK_TAGS.test(node.tagName));
    if (br.classList.contains("Apple-interchange-newline") || (blockOrEdge(before) && blockOrEdge(after))) {
      br.remove();
    } else if (!after && br.parentElement && BLOCK_TAGS.test(br.parentElement.tagName)) {
      br.remove();
    }
  });
  // A nested list Docs puts directly in the outer list belongs to the item before it.
  body.querySelectorAll("ul > ul, ul > ol, ol > ul, ol > ol").forEach((list) => {
    const item = list.previousElementSibling;
    if (item && item.tagName === "LI") item.append(list);
  });
  // Docs' checklist items are list items with role=checkbox: GFM task list items.
  body.querySelectorAll("li[role='checkbox']").forEach((item) => {
    const box = doc.createElement("input");
    box.type = "checkbox";
    box.checked = item.getAttribute("aria-checked") === "true";
    item.prepend(box);
  });
  // A list item or table cell holding one paragraph is that paragraph's text.
  body.querySelectorAll("li > p:only-of-type, td > p:only-of-type, th > p:only-of-type").forEach(unwrap);
  // GFM tables need a heading row: Docs and Word tables have none, so the first row is it.
  body.querySelectorAll("table").forEach((table) => {
    table.querySelectorAll("colgroup, col").forEach((e) => e.remove());
    const first = table.rows[0];
    if (!first) return;
    for (const cell of [...first.cells]) {
      if (cell.tagName === "TH") continue;
      const th = doc.createElement("th");
      th.append(...cell.childNodes);
      cell.replaceWith(th);
    }
    if (first.parentElement.tagName !== "THEAD") {
      const head = doc.createElement("thead");
      table.prepend(head);
      head.append(first);
    }
    // turndown-plugin-gfm counts child nodes: whitespace between cells must go.
    table.querySelectorAll("thead, tbody, tfoot, tr").forEach((part) => {
      [...part.childNodes].filter((n) => n.nodeType === 3).forEach((n) => n.remove());
    });
    [...table.childNodes].filter((n) => n.nodeType === 3).forEach((n) => n.remove());
  });
  return doc;
}

let service = null;

/** The turndown service, configured once. */
function turndown() {
  if (service) return service;
  service = new TurndownService({
    headingStyle: "atx",
    hr: "---",
    bulletListMarker: "-",
    codeBlockStyle: "fenced",
    emDelimiter: "*",
    strongDelimiter: "**",
    linkStyle: "inlined",
    // A backslash hard break survives editors and formatters that trim trailing spaces.
    br: "\\",
  });
  service.use(gfm);
  // Rules added later win: GFM's double tilde (the plugin writes one), one space after list
  // markers, and table cells kept on one line with their pipes escaped.
  service.addRule("strikethrough", {
    filter: ["del", "s", "strike"],
    replacement: (content) => (content.trim() ? `~~${content}~~` : content),
  });
  service.addRule("listItem", {
    filter: "li",
    replacement(content, node) {
      let prefix = "- ";
      const parent = node.parentNode;
      if (parent.nodeName === "OL") {
        const start = Number(parent.getAttribute("start")) || 1;
        prefix = `${start + Array.prototype.indexOf.call(parent.children, node)}. `;
      }
      const paragraph = /\n$/.test(content);
      const text = content.replace(/^\n+/, "").replace(/\n+$/, "") + (paragraph ? "\n" : "");
      return prefix + text.replace(/\n/g, `\n${" ".repeat(prefix.length)}`) + (node.nextSibling ? "\n" : "");
    },
  });
  service.addRule("tableCell", {
    filter: ["th", "td"],
    replacement(content, node) {
      const text = content.trim().replace(/\s*\n+\s*/g, " ").replace(/\|/g, "\\|");
      const first = Array.prototype.indexOf.call(node.parentNode.childNodes, node) === 0;
      return `${first ? "| " : " "}${text} |`;
    },
  });
  // Embedded or local images (Word's file: and data: addresses) cannot be fetched later: the
  // writer drops the file instead. Web addresses stay (the server imports them on save).
  service.addRule("localImage", {
    filter: (node) => node.nodeName === "IMG" && !/^https?:/i.test(node.getAttribute("src") || ""),
    replacement: () => "",
  });
  return service;
}

/** Convert clipboard HTML to Markdown. */
export function htmlToMarkdown(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  tidy(doc);
  return turndown()
    .turndown(doc.body)
    .replace(/\u00a0/g, " ")
    .replace(/[ \t]+$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
