/* The dashboard's few behaviours, wired by data attributes: the Content-Security-Policy allows
   scripts from /static only, so no template carries an inline handler.
   data-confirm="question"  on a form: ask before submitting it.
   data-autosubmit          on a select: submit its form when the choice changes.
   data-select-on-click     on an input: select its text when clicked.
   data-copy="input id"     on a button: copy that input's value to the clipboard.
   data-back                on a link: go back in the browser's history.
   data-rows                on a fieldset of rows (an array input): rows left empty are folded
                            away behind an "Add a row" button; each extra row can be removed.
   data-upload-progress     on a form with file inputs: send it with a progress bar.
   The browser's time zone goes in the "tz" cookie, so that pages show times in it. */
(function () {
  "use strict";

  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (ignored) { /* no Intl: times stay in UTC */ }

  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.submit();
    }
  });

  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-select-on-click], [data-copy], [data-back]") : null;
    if (!el) {
      return;
    }
    if (el.hasAttribute("data-select-on-click")) {
      el.select();
    } else if (el.hasAttribute("data-copy")) {
      var input = document.getElementById(el.getAttribute("data-copy"));
      if (input) {
        input.select();
        if (navigator.clipboard) {
          navigator.clipboard.writeText(input.value);
        }
        el.textContent = "Copied";
      }
    } else if (el.hasAttribute("data-back")) {
      event.preventDefault();
      window.history.back();
    }
  });

  // --- rows of an array input: show the first row and every row in use; add and remove others ---
  function rowIsEmpty(row) {
    if (row.querySelector(".has-error")) {
      return false;
    }
    var fields = row.querySelectorAll("input, select, textarea");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "hidden" || f.type === "checkbox") {
        continue;
      }
      if (f.type === "file" ? f.files && f.files.length : f.value) {
        return false;
      }
    }
    return true;
  }

  function clearRow(row) {
    var fields = row.querySelectorAll("input, select, textarea");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].type !== "hidden" && fields[i].type !== "checkbox") {
        fields[i].value = "";
      }
    }
  }

  function setUpRows(group) {
    var rows = group.querySelectorAll("fieldset.row");
    var addButton = document.createElement("button");
    addButton.type = "button";
    addButton.className = "btn small add-row";
    addButton.textContent = "Add a row";
    function refresh() {
      var hidden = group.querySelectorAll("fieldset.row[hidden]").length;
      addButton.hidden = hidden === 0;
    }
    for (var i = 0; i < rows.length; i++) {
      if (i > 0) {
        if (rowIsEmpty(rows[i])) {
          rows[i].hidden = true;
        }
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn small remove-row";
        remove.textContent = "Remove this row";
        remove.addEventListener("click", (function (row) {
          return function () {
            clearRow(row);
            row.hidden = true;
            refresh();
            var form = row.closest("form");
            if (form) {
              form.dispatchEvent(new Event("change", {bubbles: true}));
            }
          };
        })(rows[i]));
        rows[i].appendChild(remove);
      }
    }
    addButton.addEventListener("click", function () {
      var next = group.querySelector("fieldset.row[hidden]");
      if (next) {
        next.hidden = false;
        var first = next.querySelector("input, select, textarea");
        if (first) {
          first.focus();
        }
      }
      refresh();
    });
    var last = rows[rows.length - 1];
    if (last) {
      last.parentNode.insertBefore(addButton, last.nextSibling);
    }
    refresh();
  }

  // --- uploads with a progress bar; the answer (a page, or a redirect) replaces this page ---
  function hasFiles(form) {
    var inputs = form.querySelectorAll("input[type=file]");
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].files && inputs[i].files.length) {
        return true;
      }
    }
    return false;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.hasAttribute || !form.hasAttribute("data-upload-progress") ||
        !hasFiles(form) || !window.FormData || !window.XMLHttpRequest) {
      return;
    }
    event.preventDefault();
    var box = form.querySelector(".upload-progress");
    var bar = box && box.querySelector("progress");
    var label = box && box.querySelector(".upload-progress-label");
    if (box) {
      box.hidden = false;
    }
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = true;
    }
    var xhr = new XMLHttpRequest();
    xhr.open(form.method || "POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable && bar) {
        var percent = Math.round(100 * e.loaded / e.total);
        bar.value = percent;
        if (label) {
          label.textContent = percent < 100 ? "Uploading… " + percent + "%" : "Checking the files…";
        }
      }
    });
    xhr.addEventListener("load", function () {
      // The answer is the page to show: the form again with its errors, or the page a redirect led
      // to (the new job's), already fetched with its one-time message; its address becomes ours.
      var url = xhr.responseURL;
      document.open();
      document.write(xhr.responseText);
      document.close();
      if (url && url !== window.location.href && window.history && window.history.replaceState) {
        window.history.replaceState(null, "", url);
      }
    });
    xhr.addEventListener("error", function () {
      if (label) {
        label.textContent = "The upload failed: check your connection and try again.";
      }
      for (var j = 0; j < buttons.length; j++) {
        buttons[j].disabled = false;
      }
    });
    xhr.send(new FormData(form));
  });

  function ready() {
    var groups = document.querySelectorAll("[data-rows]");
    for (var i = 0; i < groups.length; i++) {
      setUpRows(groups[i]);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
