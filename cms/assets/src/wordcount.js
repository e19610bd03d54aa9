/* Word count and reading time (200 words a minute), counted as words, not Markdown marks. */

const segmenter =
  typeof Intl !== "undefined" && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "word" }) : null;

/** Count the words of Markdown `text` (link targets and markup left out). */
export function countWords(text) {
  const prose = text
    .replace(/^```.*$/gm, " ")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, " ");
  if (segmenter) {
    let count = 0;
    for (const part of segmenter.segment(prose)) if (part.isWordLike) count += 1;
    return count;
  }
  return (prose.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) || []).length;
}

/** Show "{n} words · {n} min read" in `element`, and a warning past the body limit. */
export function showCount(element, text, config) {
  if (!element) return;
  const words = countWords(text);
  const minutes = words ? Math.max(1, Math.round(words / 200)) : 0;
  const parts = [config.tn("words", words)];
  if (minutes) parts.push(config.tn("readingTime", minutes));
  element.textContent = parts.join(" · ");
  const over = config.maxBodyChars && text.length > config.maxBodyChars;
  element.classList.toggle("cms-too-long", Boolean(over));
  if (over) {
    const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
    element.textContent += ` · ${config.t("tooLong", { length: numbers.format(text.length), limit: numbers.format(config.maxBodyChars) })}`;
  }
}
