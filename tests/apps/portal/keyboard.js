// Mark every visible control (not inside a closed <details>) with data-kbd; return how many.
() => {
  const all = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary");
  let n = 0;
  all.forEach((el) => {
    const box = el.getBoundingClientRect();
    const hidden = getComputedStyle(el).visibility === "hidden" || box.width === 0 || box.height === 0;
    if (!hidden && !el.closest("details:not([open]) > :not(summary)")) {
      el.dataset.kbd = String(n++);
    }
  });
  return n;
}
