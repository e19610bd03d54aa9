/* "Who else is editing": the heartbeat of an open post or page edit form.
 *
 * Posts to the view's presence endpoint right away and then every data-interval seconds
 * (the CSRF token from the form goes in the X-CSRFToken header) and shows the translated
 * message that comes back in the #cms-presence live region. When the page is left, a beacon
 * says so (beacons cannot set headers, so the token goes as the csrf_token form field).
 * A refusal (401, 403, 404, a redirect to the login page) stops the heartbeat quietly;
 * network or server trouble is retried at the next beat.
 */
(function () {
  "use strict";

  var DEFAULT_SECONDS = 30;

  function findToken() {
    var body = document.getElementById("body_md");
    var form = body && body.form;
    return (form && form.querySelector("input[name='csrf_token']")) ||
      document.querySelector("input[name='csrf_token']");
  }

  function init() {
    var region = document.getElementById("cms-presence");
    var token = findToken();
    if (!region || !token || !window.fetch) {
      return;
    }
    var url = region.getAttribute("data-presence-url");
    var seconds = parseInt(region.getAttribute("data-interval"), 10) || DEFAULT_SECONDS;
    var timer = null;
    var stopped = false;
    var shown = region.textContent.trim();

    function show(message) {
      message = message || "";
      if (message === shown) {
        return;
      }
      shown = message;
      if (!message) {
        region.replaceChildren();
        return;
      }
      var paragraph = document.createElement("p");
      paragraph.className = "alert alert-warning";
      paragraph.textContent = message;
      region.replaceChildren(paragraph);
    }

    function stop() {
      stopped = true;
      if (timer !== null) {
        window.clearInterval(timer);
        timer = null;
      }
      show("");
    }

    function beat() {
      if (stopped) {
        return;
      }
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        redirect: "manual",
        headers: {
          "X-CSRFToken": token.value,
          "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
          "Accept": "application/json"
        },
        body: ""
      })
        .then(function (response) {
          // A redirect (to the login page) or a refusal: this page may not edit any more.
          if (response.type === "opaqueredirect" || (response.status >= 400 && response.status < 500)) {
            stop();
            return null;
          }
          if (!response.ok) {
            return null;
          }
          return response.json();
        })
        .then(function (data) {
          if (data && !stopped) {
            show(data.message);
          }
        })
        .catch(function () {
          // Offline or a server error: try again at the next beat.
        });
    }

    function start() {
      if (stopped || timer !== null) {
        return;
      }
      beat();
      timer = window.setInterval(beat, seconds * 1000);
    }

    window.addEventListener("pagehide", function () {
      if (timer !== null) {
        window.clearInterval(timer);
        timer = null;
      }
      if (stopped || !navigator.sendBeacon) {
        return;
      }
      var data = new FormData();
      data.append("csrf_token", token.value);
      data.append("leave", "1");
      navigator.sendBeacon(url, data);
    });
    // Back to a page kept in the browser's cache: say hello again.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        start();
      }
    });
    start();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
