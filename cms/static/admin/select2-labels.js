/* select2 (3.5) draws each chosen item's remove button as an empty link (the "x" is CSS):
 * give every one a name screen readers can say ("Remove: Python"), also for items chosen
 * later. The word comes translated from the script tag's data-remove-label. */
(function () {
  "use strict";
  var script = document.currentScript;
  var word = (script && script.getAttribute("data-remove-label")) || "Remove";

  function nameAll() {
    var links = document.querySelectorAll("a.select2-search-choice-close:not([aria-label])");
    for (var i = 0; i < links.length; i++) {
      var text = links[i].parentNode ? links[i].parentNode.textContent.trim() : "";
      links[i].setAttribute("aria-label", text ? word + ": " + text : word);
    }
  }

  function start() {
    nameAll();
    new MutationObserver(nameAll).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
