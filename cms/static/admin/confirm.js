/* Row confirmations in the page's own dialog, whose button says what happens ("Move to trash",
 * "Delete file") instead of the browser's OK. csp.js calls window.cmsConfirm for a clicked
 * element with data-cms-confirm; when the element names its button (data-cms-confirm-ok) and
 * the browser has <dialog>, the question is asked here and the element's form is sent on
 * confirmation. The native dialog keeps the focus inside, and Escape cancels. */
(function () {
  "use strict";

  var cancelLabel = document.currentScript.getAttribute("data-cancel") || "Cancel";
  var dialog = null;
  var text = null;
  var confirmButton = null;
  var pending = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "cms-confirm";
    dialog.setAttribute("aria-labelledby", "cms-confirm-text");
    text = document.createElement("p");
    text.id = "cms-confirm-text";
    text.className = "cms-confirm-text";
    var buttons = document.createElement("div");
    buttons.className = "cms-confirm-buttons";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn btn-outline-secondary";
    cancel.textContent = cancelLabel;
    confirmButton = document.createElement("button");
    confirmButton.type = "button";
    confirmButton.className = "btn btn-danger";
    cancel.addEventListener("click", function () {
      pending = null;
      dialog.close();
    });
    confirmButton.addEventListener("click", function () {
      var go = pending;
      pending = null;
      dialog.close();
      if (go) {
        go();
      }
    });
    dialog.addEventListener("close", function () {
      pending = null;
    });
    buttons.appendChild(cancel);
    buttons.appendChild(confirmButton);
    dialog.appendChild(text);
    dialog.appendChild(buttons);
    document.body.appendChild(dialog);
  }

  /* Ask `message` about `element`; return false when the browser's confirm should ask. */
  window.cmsConfirm = function (element, message) {
    var label = element.getAttribute("data-cms-confirm-ok");
    var form = element.form || element.closest("form");
    if (!label || !form || typeof HTMLDialogElement === "undefined") {
      return false;
    }
    if (!dialog) {
      build();
    }
    text.textContent = message;
    confirmButton.textContent = label;
    dialog.showModal();
    confirmButton.focus();
    pending = function () {
      if (form.requestSubmit) {
        form.requestSubmit(element.type === "submit" ? element : undefined);
      } else {
        form.submit();
      }
    };
    return true;
  };
})();
