/* The editor's settings and messages, read from #cms-editor-config (admin/posts/_editor_config.html).
 *
 * Every string the editor shows comes from the server in data-messages (translated there);
 * a missing key shows its own name, so a gap is visible instead of silently English.
 */

/** Read the config element (without one: no preview, autosave or uploads; key names shown). */
export function readConfig(doc) {
  const element = doc.getElementById("cms-editor-config");
  const data = element ? element.dataset : {};
  let messages = {};
  try {
    messages = JSON.parse(data.messages || "{}");
  } catch {
    messages = {};
  }
  const lang = doc.documentElement.lang || navigator.language || "en";
  const plurals = new Intl.PluralRules(lang);
  const numbers = new Intl.NumberFormat(lang);

  /** The message `key` with {name} placeholders filled in. */
  function t(key, values = {}) {
    const text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    return String(text).replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole,
    );
  }

  /** A counted message: `key_one`/`key_other` (CLDR categories), or `key` alone. */
  function tn(key, count) {
    const category = `${key}_${plurals.select(count)}`;
    const chosen = Object.prototype.hasOwnProperty.call(messages, category)
      ? category
      : Object.prototype.hasOwnProperty.call(messages, `${key}_other`)
        ? `${key}_other`
        : key;
    return t(chosen, { n: numbers.format(count) });
  }

  return {
    previewUrl: data.previewUrl || "",
    autosaveUrl: data.autosaveUrl || "",
    uploadUrl: data.uploadUrl || "",
    altUrl: data.altUrl || "",
    postId: data.postId || "",
    maxBodyChars: parseInt(data.maxBodyChars, 10) || 0,
    t,
    tn,
  };
}

/** The form's CSRF token (every POST of the editor carries it). */
export function csrfToken(form) {
  const input = form.querySelector("input[name='csrf_token']");
  return input ? input.value : "";
}

/** POST url-encoded fields of the post form (with its CSRF token) and ask for JSON. */
export function postFields(url, form, body, { keepalive = false } = {}) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "X-CSRFToken": csrfToken(form),
      "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
      Accept: "application/json",
    },
    body,
    keepalive,
  });
}

/** The error text a failed JSON request gives, or null when the answer is not our JSON. */
export async function errorText(response) {
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("application/json")) return null;
  try {
    const data = await response.json();
    return typeof data.error === "string" && data.error ? data.error : null;
  } catch {
    return null;
  }
}
