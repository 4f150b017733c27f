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

// The page of a question being answered: follow the job and open the article when it is ready
// (without script the page reloads itself every two seconds instead).
const progress = document.getElementById("ask-progress");
if (progress) {
  const job = progress.dataset.job;
  const state = progress.querySelector(".progress-state");
  const seconds = progress.querySelector(".progress-seconds");
  const started = Date.now() - Number(seconds.textContent) * 1000;
  const follow = async () => {
    try {
      const reply = await fetch(`/api/v1/asks/${encodeURIComponent(job)}`,
                                { headers: { Accept: "application/json" } });
      const body = await reply.json();
      if (!reply.ok || body.state !== "writing") {
        window.location.replace(`/asks/${encodeURIComponent(job)}`);  // the article or the error
        return;
      }
      if (body.tokens > 0) {
        const unit = body.tokens === 1 ? "token" : "tokens";
        state.textContent =
          `The language model is writing the article: ${body.tokens.toLocaleString()} ${unit} so far.`;
      }
    } catch (error) {
      // A dropped connection: keep trying; the server may be busy.
    }
    seconds.textContent = String(Math.round((Date.now() - started) / 1000));
    window.setTimeout(follow, 1000);
  };
  window.setTimeout(follow, 1000);
}
