/* Buttons marked data-print print the page (the CSP forbids an inline onclick). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("[data-print]");
    if (button) {
      window.print();
    }
  });
})();
