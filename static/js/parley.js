/* The dashboard's few behaviours, wired by data attributes: the Content-Security-Policy allows
   scripts from /static only, so no template carries an inline handler.
   data-confirm="question"  on a form: ask before submitting it.
   data-autosubmit          on a select: submit its form when the choice changes.
   data-select-on-click     on an input: select its text when clicked.
   data-copy="input id"     on a button: copy that input's value to the clipboard.
   data-back                on a link: go back in the browser's history.
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
})();
