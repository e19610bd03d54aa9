/* The post editor's image panel (the live preview and the editing itself are editor.js's).
 *
 * Uploads an image to the Files upload endpoint (the form's CSRF token in the X-CSRFToken
 * header, asking for JSON), or lists the library (only the files this person may see,
 * searchable by name), and inserts the image's Markdown, ![alt](/uploads/<name>), where the
 * cursor is in the body.
 *
 * Inserting: a cancelable "cms-editor:insert" event ({detail: {text}}) is sent to the body
 * textarea first; the editor bundle, when it runs, inserts the text at its cursor and cancels
 * the event. Without it the text goes into the textarea itself.
 */
(function () {
  "use strict";

  /* Put `text` in place of the body's selection (or at its cursor) and leave the cursor after it. */
  function insertAtCursor(body, text) {
    var asked = new CustomEvent("cms-editor:insert", { detail: { text: text }, cancelable: true });
    if (!body.dispatchEvent(asked)) {
      return; // the editor bundle inserted it
    }
    var start = body.selectionStart;
    var end = body.selectionEnd;
    body.focus();
    body.setRangeText(text, start, end, "end");
    // Whatever watches the body (presence, unsaved-changes checks) learns of the change.
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function initMedia() {
    var panel = document.getElementById("cms-media");
    var body = document.getElementById("body_md");
    var form = body && body.form;
    var token = form && form.querySelector("input[name='csrf_token']");
    if (!panel || !body || !token || typeof body.setRangeText !== "function") {
      return;
    }
    var fileInput = document.getElementById("cms-media-upload");
    var library = document.getElementById("cms-media-library");
    var search = document.getElementById("cms-media-search");
    var results = document.getElementById("cms-media-results");
    var status = document.getElementById("cms-media-status");
    var listStatus = document.getElementById("cms-media-list-status");
    var maxBytes = parseInt(panel.getAttribute("data-max-bytes"), 10) || 16 * 1024 * 1024;
    var loaded = false;
    var pending = null;
    var request = 0;

    function message(name) {
      return panel.getAttribute("data-" + name + "-message");
    }

    function setStatus(text, failed) {
      status.textContent = text || "";
      status.className = "cms-media-status mb-0 mt-2" + (failed ? " text-danger" : "");
    }

    function setListStatus(text, failed) {
      listStatus.textContent = text || "";
      listStatus.className = "cms-media-list-status small mb-2 " + (failed ? "text-danger" : "text-muted");
    }

    function insertFile(file) {
      insertAtCursor(body, file.markdown);
      setStatus(file.name + " — " + message("inserted"), false);
    }

    function pickButton(file) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-light cms-media-pick";
      button.setAttribute("data-stored-url", file.url);
      if (file.thumbnail) {
        var img = document.createElement("img");
        img.className = "cms-media-thumb";
        img.src = file.thumbnail;
        img.alt = "";
        if (file.focal) {
          img.style.objectPosition = file.focal[0] * 100 + "% " + file.focal[1] * 100 + "%";
        }
        button.appendChild(img);
      }
      var name = document.createElement("span");
      name.className = "cms-media-name";
      name.textContent = file.name;
      button.appendChild(name);
      if (file.width && file.height) {
        button.title = file.name + " (" + file.width + " × " + file.height + ")";
      }
      button.addEventListener("click", function () {
        insertFile(file);
      });
      item.appendChild(button);
      return item;
    }

    function load() {
      var ticket = ++request;
      var url = new URL(panel.getAttribute("data-library-url"), window.location.href);
      url.searchParams.set("type", "image");
      if (search.value.trim()) {
        url.searchParams.set("q", search.value.trim());
      }
      results.setAttribute("aria-busy", "true");
      setListStatus(message("loading"), false);
      fetch(url.toString(), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("library failed: " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          if (ticket !== request) {
            return; // an answer to an older search
          }
          loaded = true;
          results.replaceChildren.apply(results, data.files.map(pickButton));
          setListStatus(data.files.length ? (data.more ? message("more") : "") : message("empty"));
        })
        .catch(function () {
          if (ticket === request) {
            setListStatus(message("error"), true);
          }
        })
        .finally(function () {
          if (ticket === request) {
            results.removeAttribute("aria-busy");
          }
        });
    }

    function upload(file) {
      if (file.size > maxBytes) {
        setStatus(file.name + " — " + message("too-large"), true);
        return;
      }
      var data = new FormData();
      data.append("upload", file, file.name);
      fileInput.disabled = true;
      setStatus(message("uploading"), false);
      fetch(panel.getAttribute("data-upload-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token.value, "Accept": "application/json" },
        body: data
      })
        .then(function (response) {
          if (response.status === 413) {
            return { uploaded: [], message: file.name + " — " + message("too-large") };
          }
          var type = response.headers.get("Content-Type") || "";
          if (type.indexOf("application/json") === -1) {
            throw new Error("upload failed: " + response.status);
          }
          return response.json();
        })
        .then(function (report) {
          if (!report.uploaded.length) {
            setStatus(report.message || message("upload-error"), true);
            return;
          }
          var stored = report.uploaded[0];
          insertFile(stored);
          if (loaded) {
            results.prepend(pickButton(stored));
          }
          fileInput.value = "";
        })
        .catch(function () {
          setStatus(message("upload-error"), true);
        })
        .finally(function () {
          fileInput.disabled = false;
        });
    }

    panel.hidden = false;

    fileInput.addEventListener("change", function () {
      if (fileInput.files.length) {
        upload(fileInput.files[0]);
      }
    });
    library.addEventListener("toggle", function () {
      if (library.open && !loaded) {
        load();
      }
    });
    search.addEventListener("input", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(load, 250);
    });
    search.addEventListener("keydown", function (event) {
      // Enter searches now; it must not submit (save) the post form around the panel.
      if (event.key === "Enter") {
        event.preventDefault();
        window.clearTimeout(pending);
        load();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initMedia);
  } else {
    initMedia();
  }
})();
