/* The post editor's Markdown preview.
 *
 * Sends the body to the view's preview endpoint (a POST with the form's CSRF token in the
 * X-CSRFToken header) and shows the HTML that comes back. The server sanitizes that HTML
 * with the same allow-list used when a post is saved, so it can be inserted as it is.
 */
(function () {
  "use strict";

  function setMessage(output, text, className) {
    var paragraph = document.createElement("p");
    paragraph.className = className;
    paragraph.textContent = text;
    output.replaceChildren(paragraph);
  }

  function init() {
    var section = document.getElementById("cms-preview");
    var button = document.getElementById("cms-preview-button");
    var output = document.getElementById("cms-preview-output");
    var body = document.getElementById("body_md");
    var form = body && body.form;
    var token = form && form.querySelector("input[name='csrf_token']");
    if (!section || !button || !output || !body || !token) {
      return;
    }
    var url = section.getAttribute("data-preview-url");
    // Show the preview right under the body field rather than after the form's buttons.
    var group = body.closest(".form-group");
    if (group) {
      group.after(section);
    }
    button.disabled = false;

    button.addEventListener("click", function () {
      if (!body.value.trim()) {
        setMessage(output, section.getAttribute("data-empty-message"), "text-muted mb-0");
        return;
      }
      button.disabled = true;
      output.setAttribute("aria-busy", "true");
      setMessage(output, section.getAttribute("data-loading-message"), "text-muted mb-0");
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "X-CSRFToken": token.value,
          "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
          "Accept": "application/json"
        },
        body: new URLSearchParams({ body_md: body.value })
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("preview failed: " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          // Sanitized on the server (nh3 allow-list): safe to insert as HTML.
          output.innerHTML = data.html;
        })
        .catch(function () {
          setMessage(output, section.getAttribute("data-error-message"), "text-danger mb-0");
        })
        .finally(function () {
          button.disabled = false;
          output.removeAttribute("aria-busy");
        });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
