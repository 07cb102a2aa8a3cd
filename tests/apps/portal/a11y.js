// An axe-core-like check of the rendered page (WCAG 2.1 AA essentials), run in the browser:
// every control has a label, every button and link a name, images (our SVG charts) a text
// alternative, ids are unique, the page has a language and one h1, and text contrast is at
// least 4.5:1 (3:1 for large text). Returns a list of problems, each naming the element.
() => {
  const problems = [];
  const visible = (el) => {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return style.visibility !== "hidden" && style.display !== "none" && (box.width > 0 || box.height > 0);
  };
  const describe = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) text += "#" + el.id;
    if (el.getAttribute("name")) text += "[name=" + el.getAttribute("name") + "]";
    const words = (el.textContent || "").trim().slice(0, 40);
    return words ? text + " \"" + words + "\"" : text;
  };
  const name = (el) => {
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label").trim();
    const by = el.getAttribute("aria-labelledby");
    if (by) return by.split(/\s+/).map((id) => (document.getElementById(id) || {}).textContent || "").join(" ").trim();
    if (el.labels && el.labels.length) return Array.from(el.labels).map((l) => l.textContent).join(" ").trim();
    if (el.getAttribute("title")) return el.getAttribute("title").trim();
    return "";
  };
  if (!document.documentElement.getAttribute("lang")) problems.push("html has no lang attribute");
  if (document.querySelectorAll("h1").length !== 1) problems.push("page has " + document.querySelectorAll("h1").length + " h1 elements");
  const ids = {};
  for (const el of document.querySelectorAll("[id]")) {
    if (ids[el.id]) problems.push("duplicate id " + el.id);
    ids[el.id] = true;
  }
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || el.type === "submit" || el.type === "button") continue;
    if (!name(el)) problems.push("form control without a label: " + describe(el));
  }
  for (const el of document.querySelectorAll("button, a[href], input[type=submit]")) {
    const text = (el.textContent || el.value || "").trim();
    if (!text && !name(el)) problems.push("button or link without a name: " + describe(el));
  }
  for (const el of document.querySelectorAll("svg[role=img], img")) {
    if (!(el.getAttribute("aria-label") || el.getAttribute("alt"))) problems.push("image without a text alternative: " + describe(el));
  }
  const parse = (colour) => {
    const m = colour.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const parts = m[1].split(",").map((p) => parseFloat(p));
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const luminance = (c) => {
    const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  };
  const background = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const checked = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || checked.has(el) || !visible(el)) continue;
    if (el.closest("svg") || el.closest(".skip")) continue;
    checked.add(el);
    const style = getComputedStyle(el);
    const fg = parse(style.color);
    const bg = background(el);
    if (!fg) continue;
    const l1 = luminance(fg), l2 = luminance(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
    if (ratio < (large ? 3 : 4.5)) problems.push("contrast " + ratio.toFixed(2) + ":1 for " + describe(el));
  }
  return problems;
}
