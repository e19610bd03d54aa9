/* The Content-Security-Policy forbids inline event handlers and javascript: links. Our copies
 * of Flask-Admin's templates (admin/actions.html, admin/model/row_actions.html,
 * admin/model/layout.html) carry data-* attributes instead of onclick; these listeners do what
 * the handlers did: bulk actions, the row delete confirmation, filter choices. javascript:
 * links never navigate (Bootstrap's dropdowns and the listeners do the work). */
(function () {
  "use strict";

  document.addEventListener(
    "click",
    function (event) {
      var target = event.target;
      if (!target || !target.closest) {
        return;
      }
      var link = target.closest("a[href]");
      if (link && /^\s*javascript:/i.test(link.getAttribute("href"))) {
        event.preventDefault();
      }
      var action = target.closest("[data-cms-action]");
      if (action) {
        event.preventDefault();
        if (window.modelActions) {
          window.modelActions.execute(action.getAttribute("data-cms-action"));
        }
        return;
      }
      var confirmed = target.closest("[data-cms-confirm]");
      if (confirmed) {
        var message = confirmed.getAttribute("data-cms-confirm");
        // Our own dialog (confirm.js) when the element names its button.
        if (window.cmsConfirm && window.cmsConfirm(confirmed, message)) {
          event.preventDefault();
          return;
        }
        var ok = window.faHelpers ? window.faHelpers.safeConfirm(message) : window.confirm(message);
        if (!ok) {
          event.preventDefault();
        }
        return;
      }
      if (target.closest("[data-cms-no-navigation]")) {
        event.preventDefault();
      }
    },
    true
  );
})();
