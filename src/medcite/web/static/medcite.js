// Progressive enhancement only: the site works without this file.
// Answering takes a few seconds, so an ask form says it is working and cannot be sent twice.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.classList.contains("ask-form")) return;
  const button = form.querySelector("button[type=submit]");
  if (button) {
    button.disabled = true;
    button.textContent = "Searching the evidence…";
  }
});
