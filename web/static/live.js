// Live updates of the lists and the request page (CONTRACT 8's event
// stream, at /events with the page's session). The page works the same
// without this script: it only says, in a polite live region, that what
// the page shows has changed, with a link that reloads it. Events carry no
// case text, only which request changed and how.
(function () {
  "use strict";
  var region = document.getElementById("live-changes");
  if (!region || typeof window.EventSource !== "function") {
    return;
  }
  var live = region.getAttribute("data-live");
  var shown = false;

  function show(message) {
    if (shown) {
      return;
    }
    shown = true;
    var p = document.createElement("p");
    p.appendChild(document.createTextNode(message + " "));
    var a = document.createElement("a");
    a.href = window.location.href;
    a.textContent = "Reload to see it";
    p.appendChild(a);
    region.appendChild(p);
    region.classList.add("notice--ok");
  }

  var source = new EventSource("/events");
  source.onopen = function () {
    region.setAttribute("data-connected", "true");
  };
  source.onmessage = function (e) {
    var ev;
    try {
      ev = JSON.parse(e.data);
    } catch (err) {
      return;
    }
    if (!ev || !ev.data) {
      return;
    }
    if (live === "list") {
      show("The requests have changed (" + ev.data.reference + ").");
    } else if (ev.data.request_id === live) {
      show("This request changed.");
    }
  };
  source.addEventListener("end", function () {
    source.close();
  });
  window.addEventListener("pagehide", function () {
    source.close();
  });
})();
