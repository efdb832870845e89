// Upload progress for the case file's form (data-upload-progress).
//
// The form works without this script: it is a plain multipart POST whose
// answer redirects to the request's page. With it, the same POST goes
// through XMLHttpRequest so that a <progress> element can show how much of
// the file has been sent; when the server answers, the browser goes to the
// page the server redirected to, or shows the page it answered (a refused
// upload's reasons) as the plain form would have. No inline script, no
// eval: the pages' Content-Security-Policy allows script-src 'self' only.
(function () {
  "use strict";

  function enhance(root) {
    var forms = root.querySelectorAll("form[data-upload-progress]");
    for (var i = 0; i < forms.length; i++) {
      bind(forms[i]);
    }
  }

  function bind(form) {
    if (!window.XMLHttpRequest || !window.FormData || form.dataset.uploadBound) {
      return;
    }
    form.dataset.uploadBound = "yes";
    form.addEventListener("submit", function (event) {
      if (form.dataset.uploading === "yes") {
        event.preventDefault();
        return;
      }
      var xhr = new XMLHttpRequest();
      if (!xhr.upload) {
        return; // the plain submission goes on
      }
      event.preventDefault();
      var ui = progressFor(form);
      var button = form.querySelector("button[type=submit]");
      form.dataset.uploading = "yes";
      if (button) {
        button.disabled = true;
      }
      ui.box.hidden = false;
      ui.bar.removeAttribute("value"); // indeterminate until the first event
      ui.status.textContent = "Uploading…";

      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && e.total > 0) {
          var pct = Math.round((e.loaded / e.total) * 100);
          ui.bar.max = 100;
          ui.bar.value = pct;
          ui.bar.textContent = pct + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        ui.bar.value = 100;
        ui.status.textContent = "Sent. Waiting for the server to file the document…";
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
          // The server answered 303 to the request's page, and the
          // browser followed it: go where it leads.
          ui.status.textContent = "Uploaded. Opening the request…";
          window.location.assign(xhr.responseURL);
          return;
        }
        // A refused upload: show the page the server answered, with its
        // reasons, as the plain form would have.
        showPage(xhr.responseText);
      });
      xhr.addEventListener("error", function () { failed(form, ui, button); });
      xhr.addEventListener("abort", function () { failed(form, ui, button); });
      xhr.open("POST", form.action);
      xhr.send(new FormData(form));
    });
  }

  // progressFor returns the form's progress box, made on first use: a
  // labelled <progress> and a polite live region for the status.
  function progressFor(form) {
    var box = form.querySelector(".upload-progress");
    if (!box) {
      var id = "upload-progress-" + Math.random().toString(36).slice(2);
      box = document.createElement("div");
      box.className = "upload-progress";
      box.hidden = true;
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = "Upload progress";
      var bar = document.createElement("progress");
      bar.id = id;
      bar.max = 100;
      var status = document.createElement("p");
      status.className = "upload-progress__status hint";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      box.appendChild(label);
      box.appendChild(bar);
      box.appendChild(status);
      var button = form.querySelector("button[type=submit]");
      form.insertBefore(box, button || null);
    }
    return {
      box: box,
      bar: box.querySelector("progress"),
      status: box.querySelector(".upload-progress__status")
    };
  }

  function failed(form, ui, button) {
    form.dataset.uploading = "";
    if (button) {
      button.disabled = false;
    }
    ui.status.textContent = "The upload did not get through. Check the connection and try again.";
  }

  function showPage(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.title = doc.title;
    document.body.replaceWith(document.adoptNode(doc.body));
    enhance(document);
    var alert = document.querySelector("[role=alert], .field-error");
    if (alert && alert.scrollIntoView) {
      alert.scrollIntoView();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
})();
