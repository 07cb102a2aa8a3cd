// CareAlign portal: small progressive enhancements (everything works without them).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.matches && target.matches("select[data-autosubmit]")) {
    target.form.submit();
  }
});
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  }
});
// Preference judging by keyboard: L / ← left better, R / → right better, T tie; 1-5 rate the
// highlighted criterion and move to the next; Enter submits. Typing in the rationale is untouched.
(function () {
  var form = document.querySelector("form[data-judge]");
  if (!form) return;
  var groups = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-rating]"));
  var cursor = 0;
  function mark() {
    groups.forEach(function (g, i) {
      g.classList.toggle("active", i === cursor);
      if (i === cursor) g.setAttribute("aria-current", "true");
      else g.removeAttribute("aria-current");
    });
  }
  function pick(value) {
    var radio = form.querySelector('input[name="preference"][value="' + value + '"]');
    if (radio) radio.checked = true;
  }
  groups.forEach(function (g, i) {
    g.addEventListener("focusin", function () { cursor = i; mark(); });
  });
  document.addEventListener("keydown", function (event) {
    var t = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type === "text"))) return;
    var onRadio = t && t.tagName === "INPUT" && t.type === "radio";
    var key = event.key;
    if (key >= "1" && key <= "5" && groups.length) {
      var radio = groups[cursor].querySelector('input[value="' + key + '"]');
      if (radio) radio.checked = true;
      cursor = Math.min(cursor + 1, groups.length - 1);
      mark();
      event.preventDefault();
    } else if (key === "l" || key === "L" || (key === "ArrowLeft" && !onRadio)) {
      pick("left"); event.preventDefault();
    } else if (key === "r" || key === "R" || (key === "ArrowRight" && !onRadio)) {
      pick("right"); event.preventDefault();
    } else if (key === "t" || key === "T") {
      pick("tie"); event.preventDefault();
    } else if (key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  mark();
})();
