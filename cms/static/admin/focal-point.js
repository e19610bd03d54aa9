/* The focal point picker of a file's edit page (admin/files/edit.html).
 *
 * A click on the image sets the point there; the image area takes focus and the arrow keys move
 * the point (1 % a step, 10 % with Shift), starting from the middle. The point is written as
 * percentages into the form's focal point fields (which the server checks, as when typed), a
 * marker shows it, and a status line announces it. "Clear focal point" empties both fields.
 * Typing in the fields moves the marker too.
 */
(function () {
  "use strict";

  var SMALL_STEP = 0.01;
  var LARGE_STEP = 0.1;

  /* Read a field as the server does: "0.25", "0,25", "25%" -> 0.25; null if empty or invalid. */
  function parse(text) {
    var value = (text || "").replace(/\s+/g, "").replace(",", ".");
    if (!value) {
      return null;
    }
    var percent = value.charAt(value.length - 1) === "%";
    var number = Number(percent ? value.slice(0, -1) : value);
    if (!isFinite(number) || value === "%") {
      return null;
    }
    number = percent ? number / 100 : number;
    return number >= 0 && number <= 1 ? number : null;
  }

  function clamp(value) {
    return Math.min(1, Math.max(0, value));
  }

  /* A fraction as a percentage with at most one decimal ("30%", "30.5%"). */
  function percentText(value) {
    return String(Math.round(value * 1000) / 10) + "%";
  }

  function init() {
    var section = document.querySelector(".cms-focal");
    var area = document.getElementById("cms-focal-area");
    var fieldX = document.getElementById("focal_x");
    var fieldY = document.getElementById("focal_y");
    if (!section || !area || !fieldX || !fieldY) {
      return;
    }
    var marker = document.getElementById("cms-focal-marker");
    var status = document.getElementById("cms-focal-status");
    var clear = document.getElementById("cms-focal-clear");

    function current() {
      var x = parse(fieldX.value);
      var y = parse(fieldY.value);
      return x === null || y === null ? null : { x: x, y: y };
    }

    function describe(point) {
      if (!point) {
        return section.getAttribute("data-none-message");
      }
      return section.getAttribute("data-point-message")
        .replace("{x}", String(Math.round(point.x * 100)))
        .replace("{y}", String(Math.round(point.y * 100)));
    }

    /* Show the fields' point (the marker, the status line); announce it when asked. */
    function show(announce) {
      var point = current();
      marker.hidden = !point;
      clear.hidden = !point;
      if (point) {
        marker.style.left = point.x * 100 + "%";
        marker.style.top = point.y * 100 + "%";
      }
      var text = describe(point);
      if (announce || status.textContent !== text) {
        status.textContent = text;
      }
    }

    function set(x, y) {
      fieldX.value = percentText(clamp(x));
      fieldY.value = percentText(clamp(y));
      show(true);
    }

    area.addEventListener("click", function (event) {
      var box = area.getBoundingClientRect();
      if (!box.width || !box.height) {
        return;
      }
      set((event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
      area.focus();
    });

    area.addEventListener("keydown", function (event) {
      var moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      var move = moves[event.key];
      if (!move) {
        return;
      }
      event.preventDefault();
      var point = current() || { x: 0.5, y: 0.5 };
      var size = event.shiftKey ? LARGE_STEP : SMALL_STEP;
      // Rounded to the step, so that repeated steps land on whole percentages.
      set(
        Math.round((point.x + move[0] * size) * 1000) / 1000,
        Math.round((point.y + move[1] * size) * 1000) / 1000
      );
    });

    clear.addEventListener("click", function () {
      fieldX.value = "";
      fieldY.value = "";
      show(true);
      area.focus();
    });

    [fieldX, fieldY].forEach(function (field) {
      field.addEventListener("input", function () {
        show(false);
      });
    });

    area.tabIndex = 0;
    area.classList.add("cms-focal-active");
    document.getElementById("cms-focal-help").hidden = false;
    show(false);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
