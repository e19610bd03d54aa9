/* The drop zone of the Files upload page.
 *
 * Without this script the page is a plain form that takes several files at once. With it, the
 * drop zone appears: dropped files are posted to the same endpoint (the form's CSRF token in
 * the X-CSRFToken header, asking for JSON), in as few requests as the upload limit allows, and
 * each file's result is listed. The server checks and stores every file on its own and words
 * the summary ("3 uploaded, 1 refused: name — reason"); messages of our own come from the
 * drop zone's data attributes, so they are translated.
 */
(function () {
  "use strict";

  // Room for the multipart headers of each file and the other fields of the request.
  var PART_OVERHEAD = 2048;

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  /* Split files into requests under the size limit; files over it on their own are refused. */
  function batches(files, maxBytes) {
    var groups = [];
    var tooLarge = [];
    var current = [];
    var size = 0;
    files.forEach(function (file) {
      var cost = file.size + PART_OVERHEAD;
      if (cost + PART_OVERHEAD > maxBytes) {
        tooLarge.push(file);
        return;
      }
      if (current.length && size + cost + PART_OVERHEAD > maxBytes) {
        groups.push(current);
        current = [];
        size = 0;
      }
      current.push(file);
      size += cost;
    });
    if (current.length) {
      groups.push(current);
    }
    return { groups: groups, tooLarge: tooLarge };
  }

  function init() {
    var zone = document.getElementById("cms-dropzone");
    var form = document.querySelector("form.admin-form");
    var token = form && form.querySelector("input[name='csrf_token']");
    if (!zone || !token) {
      return;
    }
    var summary = document.getElementById("cms-upload-summary");
    var results = document.getElementById("cms-upload-results");
    var done = document.getElementById("cms-upload-done");
    var url = zone.getAttribute("data-upload-url");
    var maxBytes = parseInt(zone.getAttribute("data-max-bytes"), 10) || 16 * 1024 * 1024;
    var describe = document.getElementById("cms-upload-describe");
    var describeBase = describe ? describe.getAttribute("href") : "";
    var messages = [];
    // The new images without alt text: the describe page asks for it before going on.
    var undescribed = [];
    var busy = false;
    zone.hidden = false;

    function addResult(name, text, ok, link) {
      var item = document.createElement("li");
      item.className = ok ? "cms-upload-ok" : "cms-upload-refused text-danger";
      if (link) {
        var anchor = document.createElement("a");
        anchor.href = link;
        anchor.textContent = name;
        item.appendChild(anchor);
      } else {
        var strong = document.createElement("strong");
        strong.textContent = name;
        item.appendChild(strong);
      }
      item.appendChild(document.createTextNode(" — " + text));
      results.appendChild(item);
    }

    function say(text) {
      messages.push(text);
      summary.textContent = messages.join(" ");
    }

    function send(files) {
      var data = new FormData();
      files.forEach(function (file) {
        data.append("upload", file, file.name);
      });
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token.value, "Accept": "application/json" },
        body: data
      })
        .then(function (response) {
          if (response.status === 413) {
            return { uploaded: [], refused: files.map(function (file) {
              return { name: file.name, reason: zone.getAttribute("data-too-large-message") };
            }) };
          }
          var type = response.headers.get("Content-Type") || "";
          if (type.indexOf("application/json") === -1) {
            throw new Error("upload failed: " + response.status);
          }
          return response.json();
        })
        .then(function (report) {
          report.uploaded.forEach(function (file) {
            addResult(file.name, zone.getAttribute("data-uploaded-message"), true, file.details);
            if (file.is_image && !file.alt) {
              undescribed.push(file.id);
            }
          });
          report.refused.forEach(function (refusal) {
            addResult(refusal.name, refusal.reason, false, null);
          });
          if (report.message) {
            say(report.message);
          }
        })
        .catch(function () {
          files.forEach(function (file) {
            addResult(file.name, zone.getAttribute("data-error-message"), false, null);
          });
        });
    }

    function upload(list) {
      var files = Array.prototype.slice.call(list);
      if (!files.length || busy) {
        return;
      }
      busy = true;
      messages = [];
      undescribed = [];
      results.replaceChildren();
      done.hidden = true;
      zone.setAttribute("aria-busy", "true");
      summary.textContent = zone.getAttribute("data-uploading-message");
      var plan = batches(files, maxBytes);
      plan.tooLarge.forEach(function (file) {
        addResult(file.name, zone.getAttribute("data-too-large-message"), false, null);
      });
      var chain = Promise.resolve();
      plan.groups.forEach(function (group) {
        chain = chain.then(function () {
          return send(group);
        });
      });
      chain.finally(function () {
        busy = false;
        zone.removeAttribute("aria-busy");
        if (!messages.length) {
          summary.textContent = "";
        }
        done.hidden = false;
        if (describe) {
          describe.hidden = !undescribed.length;
          describe.href = describeBase + "?ids=" + undescribed.join(",") + "&url=" +
            encodeURIComponent(describe.getAttribute("data-return-url"));
          if (undescribed.length) {
            describe.focus();
          }
        }
        zone.dispatchEvent(new CustomEvent("cms:uploaded", { bubbles: true }));
      });
    }

    zone.addEventListener("dragenter", function (event) {
      if (hasFiles(event)) {
        event.preventDefault();
        zone.classList.add("cms-dropzone-active");
      }
    });
    zone.addEventListener("dragover", function (event) {
      if (hasFiles(event)) {
        event.preventDefault();
        event.dataTransfer.dropEffect = "copy";
      }
    });
    zone.addEventListener("dragleave", function (event) {
      if (!zone.contains(event.relatedTarget)) {
        zone.classList.remove("cms-dropzone-active");
      }
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("cms-dropzone-active");
      upload(event.dataTransfer.files);
    });
    // A file dropped next to the zone would make the browser leave the page to show it.
    window.addEventListener("dragover", function (event) {
      if (hasFiles(event) && !event.target.closest("input[type='file'], #cms-dropzone")) {
        event.preventDefault();
        event.dataTransfer.dropEffect = "none";
      }
    });
    window.addEventListener("drop", function (event) {
      if (hasFiles(event) && !event.target.closest("input[type='file'], #cms-dropzone")) {
        event.preventDefault();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
