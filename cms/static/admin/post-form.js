/* The post form around the editor: the address preview, Publish or Schedule, the error summary.
 *
 * Address: while the title (or the address field) is typed, asks the server which address the
 * post would get (data-slug-url of #cms-editor-config, debounced) and shows it on the line under
 * the title. The address field itself stays editable: it opens on "Edit".
 *
 * Publish or Schedule: while the publication time is in the future, "Schedule" is the primary
 * button (with "Publish now" beside it); otherwise "Publish now" is, and "Schedule" is hidden
 * (the server would refuse it). The time is typed in the writer's time zone (data-timezone of
 * #cms-times), so "now" is read in that zone too.
 *
 * Every text shown comes from the page (translated there); nothing here is in one language.
 */
(function () {
  "use strict";

  var SLUG_DELAY = 350;

  /* Return "now" in the IANA time zone as "YYYY-MM-DD HH:MM:SS", comparable as text. */
  function nowIn(zone) {
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit"
      })
        .formatToParts(new Date())
        .forEach(function (part) {
          parts[part.type] = part.value;
        });
    } catch (error) {
      return null; // an unknown zone: leave the button as the server drew it
    }
    return (
      parts.year + "-" + parts.month + "-" + parts.day + " " +
      parts.hour + ":" + parts.minute + ":" + parts.second
    );
  }

  /* Return a typed time as "YYYY-MM-DD HH:MM:SS", or null when it is not one. */
  function normalTime(text) {
    var match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(:\d{2})?/.exec((text || "").trim());
    return match ? match[1] + " " + match[2] + (match[3] || ":00") : null;
  }

  /* Make `button` the wide primary button of the action card, or a quiet one. */
  function setPrimary(button, primary) {
    button.classList.toggle("btn-primary", primary);
    button.classList.toggle("cms-action-primary", primary);
    button.classList.toggle("btn-outline-secondary", !primary);
    button.classList.toggle("cms-action-secondary", !primary);
  }

  function initSchedule() {
    var actions = document.getElementById("cms-actions");
    var times = document.getElementById("cms-times");
    var field = document.getElementById("published_at");
    if (!actions || !times || !field) {
      return;
    }
    var publish = actions.querySelector("button[name='workflow'][value='publish']");
    var schedule = actions.querySelector("button[name='workflow'][value='schedule']");
    // Only a post that is not out yet offers both; a scheduled one offers "Publish now" only.
    if (!publish || !schedule || !publish.classList.contains("btn-primary")) {
      return;
    }
    var zone = times.getAttribute("data-timezone");
    var shown = null;

    function update() {
      var typed = normalTime(field.value);
      var now = nowIn(zone);
      if (now === null) {
        return;
      }
      var future = typed !== null && typed > now;
      if (future === shown) {
        return; // nothing moves under the writer's pointer
      }
      shown = future;
      // A future time: "Schedule" leads and "Publish now" stays beside it; otherwise
      // "Schedule" would only be refused, so it is not offered.
      setPrimary(schedule, future);
      setPrimary(publish, !future);
      schedule.hidden = !future;
      actions.insertBefore(future ? schedule : publish, actions.firstChild);
    }

    ["input", "change", "blur"].forEach(function (type) {
      field.addEventListener(type, update);
    });
    // A time a few seconds ahead becomes the past while the page is open.
    window.setInterval(update, 5000);
    update();
  }

  function initSlug() {
    var line = document.getElementById("cms-slug-line");
    var preview = document.getElementById("cms-slug-preview");
    var group = document.getElementById("cms-slug-group");
    var edit = document.getElementById("cms-slug-edit");
    var title = document.getElementById("title");
    var slug = document.getElementById("slug");
    var config = document.getElementById("cms-editor-config");
    if (!line || !preview || !group || !edit || !title || !slug) {
      return;
    }

    // The field opens on "Edit"; an address with an error stays open.
    if (!group.classList.contains("cms-keep-open")) {
      group.hidden = true;
      edit.setAttribute("aria-expanded", "false");
      edit.hidden = false;
    }
    edit.addEventListener("click", function () {
      group.hidden = false;
      edit.setAttribute("aria-expanded", "true");
      edit.hidden = true;
      slug.focus();
    });

    var url = config && config.getAttribute("data-slug-url");
    if (!url) {
      return;
    }
    var postId = (config.getAttribute("data-post-id") || "").trim();
    var pending = null;
    var ticket = 0;

    function show(address) {
      // "https://example.com/posts/night-market": the host and path, the last part bold.
      var text = address.replace(/^https?:\/\//, "");
      var cut = text.lastIndexOf("/") + 1;
      var last = document.createElement("strong");
      last.textContent = text.slice(cut);
      preview.replaceChildren(document.createTextNode(text.slice(0, cut)), last);
    }

    function ask() {
      if (!slug.value.trim() && !title.value.trim()) {
        return;
      }
      var mine = ++ticket;
      var target = new URL(url, window.location.href);
      // A typed address wins over the title on the server, as when saving.
      target.searchParams.set("title", title.value);
      target.searchParams.set("slug", slug.value);
      target.searchParams.set("id", postId);
      fetch(target.toString(), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("slug preview failed: " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          if (mine === ticket && data.url) {
            show(data.url);
          }
        })
        .catch(function () {
          // The line keeps the last address shown; saving decides the address anyway.
        });
    }

    function later() {
      window.clearTimeout(pending);
      pending = window.setTimeout(ask, SLUG_DELAY);
    }

    title.addEventListener("input", function () {
      // A typed address wins over the title (the server keeps it).
      if (!slug.value.trim()) {
        later();
      }
    });
    slug.addEventListener("input", later);
  }

  function initErrors() {
    var summary = document.getElementById("cms-error-summary");
    if (summary) {
      summary.focus();
    }
  }

  function start() {
    initSlug();
    initSchedule();
    initErrors();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
