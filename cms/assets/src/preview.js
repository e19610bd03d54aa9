/* The live preview: the body rendered by the server's own pipeline, a moment after typing stops. */
import { csrfToken, errorText, postFields } from "./config.js";

const DELAY_MS = 600;

/** Keep `output` showing the server's rendering of `getText()`; call `schedule()` on changes. */
export function livePreview({ output, form, config, getText }) {
  const t = config.t;
  let timer = null;
  let sequence = 0;

  function message(text, className) {
    const paragraph = document.createElement("p");
    paragraph.className = className;
    paragraph.textContent = text;
    output.replaceChildren(paragraph);
  }

  async function render() {
    const ticket = ++sequence;
    const text = getText();
    if (!text.trim()) {
      message(t("previewEmpty"), "cms-preview-note");
      return;
    }
    output.setAttribute("aria-busy", "true");
    try {
      const response = await postFields(
        config.previewUrl,
        form,
        new URLSearchParams({ body_md: text, csrf_token: csrfToken(form) }),
      );
      // Only the newest request is shown: an older one answering late is dropped.
      if (ticket !== sequence) return;
      if (!response.ok) {
        message((await errorText(response)) || t("previewFailed"), "cms-preview-error");
        return;
      }
      const data = await response.json();
      if (ticket !== sequence) return;
      // The server sanitized this HTML with the same allow-list as saved posts.
      output.innerHTML = data.html;
    } catch {
      if (ticket === sequence) message(t("previewFailed"), "cms-preview-error");
    } finally {
      if (ticket === sequence) output.removeAttribute("aria-busy");
    }
  }

  return {
    schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(render, DELAY_MS);
    },
    now: render,
  };
}
