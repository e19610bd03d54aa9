/* Images dropped, pasted or picked: uploaded into the library, alt text asked right there.
 *
 * While a file uploads, an "Uploading…" widget sits in the text where it was dropped (a
 * decoration, not text: nothing reaches the textarea until the upload succeeded). Its position
 * follows the writer's edits; the Markdown goes in exactly there, or nothing does on error.
 */
import { StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, WidgetType } from "@codemirror/view";
import { csrfToken, errorText } from "./config.js";

const addUpload = StateEffect.define({ map: (value, mapping) => ({ ...value, pos: mapping.mapPos(value.pos) }) });
const removeUpload = StateEffect.define();

class UploadingWidget extends WidgetType {
  constructor(id, label) {
    super();
    this.id = id;
    this.label = label;
  }

  eq(other) {
    return other.id === this.id;
  }

  toDOM() {
    const span = document.createElement("span");
    span.className = "cms-uploading";
    span.dataset.upload = String(this.id);
    span.textContent = this.label;
    return span;
  }
}

/** The uploads under way, as widget decorations mapped through every change. */
export const uploads = StateField.define({
  create: () => Decoration.none,
  update(decorations, tr) {
    decorations = decorations.map(tr.changes);
    for (const effect of tr.effects) {
      if (effect.is(addUpload)) {
        const widget = Decoration.widget({ widget: new UploadingWidget(effect.value.id, effect.value.label), side: 1 });
        decorations = decorations.update({ add: [widget.range(effect.value.pos)] });
      } else if (effect.is(removeUpload)) {
        decorations = decorations.update({ filter: (from, to, deco) => deco.spec.widget.id !== effect.value });
      }
    }
    return decorations;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/** Where the upload `id` sits now, or null. */
function uploadPosition(state, id) {
  let found = null;
  state.field(uploads).between(0, state.doc.length, (from, to, deco) => {
    if (deco.spec.widget.id === id) found = from;
  });
  return found;
}

/** Markdown-escape alt text: brackets and backslashes would end or break the image. */
function escapeAlt(text) {
  return text.replace(/[\\[\]]/g, "\\$&").replace(/\s+/g, " ").trim();
}

/** The image-upload machinery of one editor. */
export class ImageUploader {
  constructor({ view, form, config, status }) {
    this.view = view;
    this.form = form;
    this.config = config;
    this.status = status;
    this.counter = 0;
  }

  /** Show a failure in words next to the toolbar (and for screen readers). */
  fail(text) {
    this.status.textContent = text;
    this.status.hidden = false;
  }

  /** Upload each file, inserting its Markdown at `pos` (the drop point or the cursor). */
  uploadAll(files, pos) {
    for (const file of files) this.upload(file, pos);
  }

  async upload(file, pos) {
    const { view, config } = this;
    const t = config.t;
    const id = ++this.counter;
    this.status.hidden = true;
    view.dispatch({ effects: addUpload.of({ id, pos, label: t("uploading") }) });
    const data = new FormData();
    data.append("file", file, file.name);
    data.append("csrf_token", csrfToken(this.form));
    let stored = null;
    try {
      const response = await fetch(config.uploadUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken(this.form) },
        body: data,
      });
      if (response.status === 201 || response.ok) {
        stored = await response.json();
      } else {
        const reason = (await errorText(response)) || t("uploadFailed");
        this.fail(`${file.name}: ${reason}`);
      }
    } catch {
      this.fail(`${file.name}: ${t("uploadFailed")}`);
    }
    if (!stored || !stored.url) {
      view.dispatch({ effects: removeUpload.of(id) });
      return;
    }
    let alt = stored.alt || "";
    if (stored.needs_alt) alt = await this.askAlt(stored);
    const at = uploadPosition(view.state, id);
    const where = at === null ? view.state.selection.main.head : at;
    const markdown = `![${escapeAlt(alt)}](${stored.url})`;
    view.dispatch({
      changes: { from: where, insert: markdown },
      effects: removeUpload.of(id),
      userEvent: "input.paste",
    });
    view.focus();
  }

  /** Ask for the image's alt text in a modal dialog; resolves to the text ('' if none). */
  askAlt(stored) {
    const t = this.config.t;
    return new Promise((resolve) => {
      const dialog = document.createElement("dialog");
      dialog.className = "cms-alt-dialog";
      const titleId = `cms-alt-title-${stored.id}`;
      dialog.setAttribute("aria-labelledby", titleId);
      const form = document.createElement("form");
      form.method = "dialog";
      const title = document.createElement("h2");
      title.id = titleId;
      title.textContent = t("altPrompt");
      const preview = document.createElement("img");
      preview.className = "cms-alt-preview";
      preview.alt = "";
      if (stored.preview_url) preview.src = stored.preview_url;
      const name = document.createElement("p");
      name.className = "cms-alt-name";
      name.textContent = stored.name || "";
      const fieldId = `cms-alt-text-${stored.id}`;
      const label = document.createElement("label");
      label.htmlFor = fieldId;
      label.textContent = t("altText");
      const field = document.createElement("textarea");
      field.id = fieldId;
      field.rows = 2;
      field.className = "form-control";
      const checkId = `cms-alt-decorative-${stored.id}`;
      const checkWrap = document.createElement("div");
      checkWrap.className = "form-check";
      const check = document.createElement("input");
      check.type = "checkbox";
      check.id = checkId;
      check.className = "form-check-input";
      const checkLabel = document.createElement("label");
      checkLabel.htmlFor = checkId;
      checkLabel.className = "form-check-label";
      checkLabel.textContent = t("altDecorative");
      checkWrap.append(check, checkLabel);
      const error = document.createElement("p");
      error.className = "cms-alt-error text-danger";
      error.setAttribute("role", "alert");
      error.hidden = true;
      const actions = document.createElement("div");
      actions.className = "cms-alt-actions";
      const skip = document.createElement("button");
      skip.type = "button";
      skip.className = "btn btn-link";
      skip.textContent = t("altSkip");
      const save = document.createElement("button");
      save.type = "submit";
      save.className = "btn btn-primary";
      save.textContent = t("altSave");
      actions.append(skip, save);
      form.append(title, preview, name, label, field, checkWrap, error, actions);
      dialog.append(form);
      document.body.append(dialog);

      let result = "";
      check.addEventListener("change", () => {
        field.disabled = check.checked;
      });
      skip.addEventListener("click", () => dialog.close());
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const text = field.value.trim();
        if (!check.checked && !text) {
          error.textContent = t("altRequired");
          error.hidden = false;
          field.focus();
          return;
        }
        save.disabled = true;
        const data = new FormData();
        data.append("csrf_token", csrfToken(this.form));
        data.append("id", String(stored.id));
        if (check.checked) data.append("decorative", "1");
        else data.append("alt", text);
        try {
          const response = await fetch(this.config.altUrl, {
            method: "POST",
            credentials: "same-origin",
            headers: { Accept: "application/json", "X-CSRFToken": csrfToken(this.form) },
            body: data,
          });
          if (!response.ok) {
            error.textContent = (await errorText(response)) || t("uploadFailed");
            error.hidden = false;
            return;
          }
          const answer = await response.json();
          result = check.checked ? "" : typeof answer.alt === "string" ? answer.alt : text;
          dialog.close();
        } catch {
          error.textContent = t("uploadFailed");
          error.hidden = false;
        } finally {
          save.disabled = false;
        }
      });
      // Escape (the dialog's cancel) leaves the image without alt text; publishing will ask.
      dialog.addEventListener("close", () => {
        dialog.remove();
        resolve(result);
      });
      dialog.showModal();
      field.focus();
    });
  }
}
