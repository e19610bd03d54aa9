/* Autosave into the server's per-person slot, a few seconds after typing stops.
 *
 * The whole form is sent (the server keeps it, not a revision). A failure is shown in words and
 * retried on the next change; nothing typed is ever dropped. Leaving with changes that neither
 * the slot nor a save holds asks first.
 */
import { errorText, postFields } from "./config.js";

const IDLE_MS = 3000;
// Browsers cap keepalive requests (sent while the page goes away) at 64 KiB.
const KEEPALIVE_LIMIT = 60000;

/** The form's fields as one comparable string (files and the submit button left out). */
function snapshot(form) {
  const parts = [];
  for (const [name, value] of new FormData(form)) {
    if (typeof value === "string" && name !== "csrf_token") parts.push([name, value]);
  }
  return JSON.stringify(parts);
}

/** Autosave `form`; `sync()` writes the editor into the textarea before every read. */
export function autosave({ form, config, status, sync }) {
  const t = config.t;
  let timer = null;
  let saved = snapshot(form);
  let running = null;
  let submitting = false;

  function show(text, failed) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("cms-autosave-failed", Boolean(failed));
  }

  /** "Not saved: <reason>"; the reason is appended when the message has no {reason}. */
  function failed(reason) {
    const text = t("saveFailed", { reason });
    show(text.includes(reason) ? text : `${text} ${reason}`, true);
  }

  async function save({ leaving = false } = {}) {
    window.clearTimeout(timer);
    if (submitting || !config.autosaveUrl) return;
    sync();
    const current = snapshot(form);
    if (current === saved) return;
    if (running) {
      // One request at a time; the newest state goes out after it.
      await running;
      return save({ leaving });
    }
    const data = new FormData(form);
    const body = new URLSearchParams();
    for (const [name, value] of data) if (typeof value === "string") body.append(name, value);
    // The slot is per post: the server needs the post's id (empty for a new post).
    if (!body.has("post_id")) body.append("post_id", config.postId);
    const encoded = body.toString();
    show(t("saving"), false);
    running = postFields(config.autosaveUrl, form, encoded, {
      keepalive: leaving && encoded.length < KEEPALIVE_LIMIT,
    })
      .then(async (response) => {
        if (response.redirected) {
          // An ended session sends the request on to the login page.
          failed(t("signedOut"));
        } else if (response.ok) {
          const answer = await response.json();
          saved = current;
          show(answer.label || t("saved"), false);
        } else {
          failed((await errorText(response)) || `HTTP ${response.status}`);
        }
      })
      .catch(() => failed(t("offline")))
      .finally(() => {
        running = null;
      });
    await running;
  }

  form.addEventListener("submit", () => {
    submitting = true;
    window.clearTimeout(timer);
  });
  // Back from the bfcache after a submit: the page is live again.
  window.addEventListener("pageshow", () => {
    submitting = false;
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") save({ leaving: true });
  });
  window.addEventListener("beforeunload", (event) => {
    if (submitting) return;
    sync();
    if (snapshot(form) !== saved) {
      event.preventDefault();
      event.returnValue = t("leaveWarning");
      return t("leaveWarning");
    }
  });

  return {
    /** Something changed: autosave once typing has paused. */
    schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => save(), IDLE_MS);
    },
    save,
  };
}
