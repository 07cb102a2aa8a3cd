// Mark every visible control (not inside a closed <details>) with data-kbd; return how many.
// The radio buttons of one group share a mark: a group is one Tab stop and the arrow keys
// move within it (the browser's own behaviour), so reaching any of them reaches the group.
() => {
  const all = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary");
  const groups = new Map();
  let n = 0;
  all.forEach((el) => {
    const box = el.getBoundingClientRect();
    const hidden = getComputedStyle(el).visibility === "hidden" || box.width === 0 || box.height === 0;
    if (hidden || el.closest("details:not([open]) > :not(summary)")) return;
    if (el.type === "radio" && el.name) {
      const forms = Array.from(document.forms);
      const key = forms.indexOf(el.form) + "|" + el.name;
      if (!groups.has(key)) groups.set(key, String(n++));
      el.dataset.kbd = groups.get(key);
    } else {
      el.dataset.kbd = String(n++);
    }
  });
  return n;
}
