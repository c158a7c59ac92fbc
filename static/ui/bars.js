/* Bar widths and split-bar shares from data attributes: the Content-Security-Policy allows
 * no style="" attributes in the markup (docs/ui.md#content-security-policy), while styles set
 * from a script file are allowed.
 *   [data-width="42"]  width: 42%
 *   [data-flex="3"]    flex: 3 (a share of a split bar)
 */
(function () {
  "use strict";

  function apply(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("[data-width]").forEach(function (el) {
      var pct = parseFloat(el.getAttribute("data-width"));
      if (!isNaN(pct)) el.style.width = Math.max(0, Math.min(100, pct)) + "%";
    });
    scope.querySelectorAll("[data-flex]").forEach(function (el) {
      var share = parseFloat(el.getAttribute("data-flex"));
      if (!isNaN(share)) el.style.flex = String(share);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { apply(document); });
  } else {
    apply(document);
  }
  // Content swapped in by htmx (filters, pagination, live tables).
  document.addEventListener("htmx:load", function (event) { apply(event.detail && event.detail.elt); });
})();
