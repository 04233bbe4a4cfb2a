// Copy buttons for values analysts paste elsewhere (hashes, identifiers, URLs
// that are deliberately not links). Without JavaScript the buttons stay hidden
// and the text can still be selected.
(function () {
  "use strict";

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function copied(button) {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || "✓";
    button.classList.add("is-done");
    window.setTimeout(function () {
      button.textContent = label;
      button.classList.remove("is-done");
    }, 1500);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-copy]");
    buttons.forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-copy");
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(function () { copied(button); }, function () {
            if (fallbackCopy(text)) { copied(button); }
          });
        } else if (fallbackCopy(text)) {
          copied(button);
        }
      });
    });
  });
})();
