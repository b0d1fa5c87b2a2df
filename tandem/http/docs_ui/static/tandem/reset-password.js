// The page a reset mail's link opens (development): the token comes from the address,
// the new password from the form; both go to the REST reset route as JSON.
(function () {
  "use strict";
  var form = document.getElementById("reset");
  var outcome = document.getElementById("outcome");
  var token = new URLSearchParams(window.location.search).get("token");
  // The token stays in this page's memory only: off the address bar and its history.
  window.history.replaceState(null, "", window.location.pathname);

  function say(text, kind) {
    outcome.textContent = text;
    outcome.className = kind;
  }
  if (!token) {
    say("This address has no token: open the link from the reset mail as it is.", "failed");
    form.hidden = true;
    return;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var password = form.elements.new_password.value;
    if (password !== document.getElementById("again").value) {
      say("The two passwords differ.", "failed");
      return;
    }
    form.querySelector("button").disabled = true;
    fetch(form.dataset.resetUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token, new_password: password }),
    })
      .then(function (response) {
        if (response.status === 204) {
          form.hidden = true;
          say("Your password is set. Every session has ended: sign in again with it.", "done");
          return;
        }
        return response.json().then(function (problem) {
          var details = (problem.errors || []).map(function (e) { return e.msg; });
          var text = problem.detail || problem.title || "The reset failed.";
          say(details.length ? text + " (" + details.join("; ") + ")" : text, "failed");
          form.querySelector("button").disabled = false;
        });
      })
      .catch(function () {
        say("Tandem could not be reached; try again.", "failed");
        form.querySelector("button").disabled = false;
      });
  });
})();
