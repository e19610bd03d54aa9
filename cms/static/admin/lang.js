/* Set the page language on <html>: Flask-Admin's base template writes a bare <html> tag and
 * no block can add the attribute. Loaded in <head>, so it runs before the body is read. */
(function () {
  "use strict";
  var script = document.currentScript;
  var lang = script && script.getAttribute("data-lang");
  if (lang) {
    document.documentElement.setAttribute("lang", lang);
  }
})();
