// Repeat visitors: when the ID number matches an earlier visitor, offer their name and company.
(function () {
  var idField = document.getElementById("id_number");
  var form = idField && idField.form;
  if (!form) { return; }
  var offer = form.querySelector(".repeat");
  var button = document.getElementById("fill-repeat");
  var found = null;
  var timer = null;
  function lookup() {
    var body = new URLSearchParams();
    body.set("csrf", form.querySelector("input[name=csrf]").value);
    body.set("id_number", idField.value);
    fetch("/visits/lookup", {method: "POST", body: body, credentials: "same-origin"})
      .then(function (answer) { return answer.ok ? answer.json() : {found: false}; })
      .then(function (result) {
        found = result.found ? result : null;
        offer.hidden = !found;
        if (found) {
          button.querySelector("span").textContent =
            found.visitor_name + (found.company ? " (" + found.company + ")" : "");
        }
      })
      .catch(function () { offer.hidden = true; });
  }
  idField.addEventListener("input", function () {
    clearTimeout(timer);
    if (idField.value.trim().length >= 4) { timer = setTimeout(lookup, 300); }
    else { offer.hidden = true; }
  });
  button.addEventListener("click", function () {
    if (!found) { return; }
    form.querySelector("input[name=visitor_name]").value = found.visitor_name;
    if (found.company) { form.querySelector("input[name=company]").value = found.company; }
    offer.hidden = true;
  });
})();
