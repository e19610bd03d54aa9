// Video placeholders (cms/services/rendering/embeds.py): nothing is loaded from the video site
// until the reader clicks "Play video"; then the placeholder's link becomes the player.
// The player's address is built here from a strictly checked id and a fixed host, never from
// an attribute of the page taken as it is. Without this script the link opens the video page.
(function () {
  "use strict";

  var PLAYERS = {
    youtube: function (id, start) {
      if (!/^[A-Za-z0-9_-]{11}$/.test(id)) return null;
      return "https://www.youtube-nocookie.com/embed/" + id + "?autoplay=1" +
        (start ? "&start=" + start : "");
    },
    vimeo: function (id, start) {
      if (!/^[0-9]{1,12}$/.test(id)) return null;
      return "https://player.vimeo.com/video/" + id + "?autoplay=1&dnt=1" +
        (start ? "#t=" + start + "s" : "");
    },
  };

  function playerAddress(figure) {
    var provider = figure.getAttribute("data-provider") || "";
    if (!Object.prototype.hasOwnProperty.call(PLAYERS, provider)) return null;
    var start = figure.getAttribute("data-start") || "";
    start = /^[0-9]{1,5}$/.test(start) ? Number(start) : 0;
    return PLAYERS[provider](figure.getAttribute("data-video") || "", start);
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey) {
      return;
    }
    var link = event.target.closest && event.target.closest("a.c-embed-link");
    var figure = link && link.closest("figure.c-embed");
    if (!figure) return;
    var address = playerAddress(figure);
    if (!address) return;  // Not a video we know: the link simply opens the page.
    event.preventDefault();
    var caption = figure.querySelector("figcaption");
    var frame = document.createElement("iframe");
    frame.className = "c-embed-frame";
    frame.src = address;
    frame.title = caption ? caption.textContent : "";
    frame.allow = "autoplay; encrypted-media; fullscreen; picture-in-picture";
    frame.allowFullscreen = true;
    frame.referrerPolicy = "strict-origin-when-cross-origin";
    link.replaceWith(frame);
    frame.focus();
  });
})();
