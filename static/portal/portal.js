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
  form.setAttribute("data-keys", "ready");
})();
// Signing: the re-authentication box becomes a modal dialog opened by "Sign…" (without
// JavaScript it stays in the form). It opens by itself when the password was refused, so the
// reason is read next to the field.
(function () {
  var form = document.querySelector("form[data-reauth]");
  if (!form || typeof HTMLDialogElement === "undefined") return;
  var box = form.querySelector(".reauth");
  var start = form.querySelector("button[data-sign]");
  if (!box || !start) return;
  var dialog = document.createElement("dialog");
  dialog.className = "reauth-dialog";
  dialog.setAttribute("aria-labelledby", "reauth-h");
  form.appendChild(dialog);
  dialog.appendChild(box);
  var actions = document.createElement("div");
  actions.className = "row";
  var confirm = document.createElement("button");
  confirm.type = "submit";
  confirm.className = "btn";
  confirm.textContent = "Sign";
  var cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "btn secondary";
  cancel.textContent = "Cancel";
  actions.appendChild(confirm);
  actions.appendChild(cancel);
  dialog.appendChild(actions);
  start.type = "button";
  start.textContent = "Sign…";
  var password = box.querySelector("input[type=password]");
  function open() {
    dialog.showModal();
    if (password) password.focus();
  }
  start.addEventListener("click", open);
  cancel.addEventListener("click", function () { dialog.close(); start.focus(); });
  if (box.querySelector(".has-error")) open();
})();
