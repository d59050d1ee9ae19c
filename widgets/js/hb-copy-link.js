/* "Copy link" on every question (q-<track>-<nnn>) and worked problem (wp-…): a real <button> after the heading's
   text, so Tab reaches it and Enter or Space presses it. It copies the page's address with the heading's id; where
   the clipboard is not available it shows the link selected in a field for the reader to copy. Re-run on every
   instant navigation (HB.onPage). */
(function () {
  "use strict";
  const TARGETS = "article h2[id^='wp-'], article h3[id^='wp-'], article [data-difficulty][id^='q-']";

  function link(id) {
    return location.origin + location.pathname + "#" + encodeURIComponent(id);
  }

  function add(heading) {
    if (heading.querySelector(".hb-copy-link") || heading.closest("#print-site-page")) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "hb-copy-link";
    button.textContent = "Copy link";
    button.setAttribute("aria-label", "Copy a link to this " + (heading.id.startsWith("q-") ? "question" : "worked problem"));
    const status = document.createElement("span");
    status.className = "hb-copy-link__status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    const field = document.createElement("input");
    field.className = "hb-copy-link__field";
    field.type = "text";
    field.readOnly = true;
    field.hidden = true;
    field.setAttribute("aria-label", "Link to this heading");
    button.addEventListener("click", (event) => {
      event.preventDefault();
      const url = link(heading.id);
      const fallback = () => {
        field.value = url;
        field.hidden = false;
        field.focus();
        field.select();
        status.textContent = "Copy the link in the field.";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url).then(() => { status.textContent = "Link copied."; }, fallback);
      } else {
        fallback();
      }
    });
    const permalink = heading.querySelector(".headerlink");
    heading.insertBefore(button, permalink);
    heading.insertBefore(status, permalink);
    heading.insertBefore(field, permalink);
  }

  HB.onPage(() => document.querySelectorAll(TARGETS).forEach(add));
})();
