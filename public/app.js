// edge-rnnlm demo: next-word suggestions as you type (GET /predict, fresh so a lesson shows at
// once), teaching (POST /learn) and the model's facts (GET /model). With a user chosen, both go
// through that user's personal layer (user=, which sees every lesson at once; GET and DELETE
// /users/{id}). No framework, no build step.

const SHOWN = 8; // chips shown
const DEBOUNCE_MS = 150;
const CONTEXT_CHARS = 1000; // the server reads a prefix through its last 32 tokens anyway
const TOKEN_KEY = "edge-rnnlm-token";
const USERS_KEY = "edge-rnnlm-users";
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

const model = new URLSearchParams(location.search).get("model");
const base = model ? `/models/${encodeURIComponent(model)}` : "";

const $ = (id) => document.getElementById(id);
const text = $("text");
const chips = $("suggestions");
const teachButton = $("teach");
const teachResult = $("teach-result");
const status = $("status");
const tokenInput = $("token");
const modelLine = $("model");
const userInput = $("user");
const userInfo = $("user-info");
const forgetUser = $("forget-user");

const numbers = new Intl.NumberFormat("en");

tokenInput.value = localStorage.getItem(TOKEN_KEY) ?? "";
tokenInput.addEventListener("input", () => {
  const token = tokenInput.value.trim();
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
});

/** The user chosen (null: the shared model). */
function currentUser() {
  const user = userInput.value.trim();
  return USER_ID.test(user) ? user : null;
}

/** The users this browser has used, offered in the switcher. */
function rememberUser(user) {
  const users = new Set(JSON.parse(localStorage.getItem(USERS_KEY) ?? "[]"));
  users.add(user);
  localStorage.setItem(USERS_KEY, JSON.stringify([...users].slice(-20)));
  listUsers();
}

function listUsers() {
  const users = JSON.parse(localStorage.getItem(USERS_KEY) ?? "[]");
  $("users").replaceChildren(...users.map((u) => Object.assign(document.createElement("option"), { value: u })));
}

/** Shows the chosen user's learns and words (GET /users/{id}). */
async function describeUser() {
  const user = currentUser();
  forgetUser.hidden = user === null;
  if (user === null) {
    userInfo.textContent = userInput.value.trim() ? "user ids are 1-64 of A-Z a-z 0-9 _ -" : "";
    return;
  }
  try {
    const u = await api(`/users/${user}`, {}, "");
    userInfo.textContent = `${numbers.format(u.learns)} sentences learned, ${u.learnedWords} own words, ${(u.bytes / 1e3).toFixed(1)} kB stored`;
  } catch (e) {
    userInfo.textContent = e.message;
  }
}

userInput.addEventListener("change", () => {
  const user = currentUser();
  if (user) rememberUser(user);
  describeUser();
  suggest();
});

forgetUser.addEventListener("click", async () => {
  const user = currentUser();
  if (!user) return;
  try {
    await api(`/users/${user}`, { method: "DELETE" }, "");
    showStatus(`Deleted everything user ${user} taught.`);
  } catch (e) {
    showStatus(e.message);
  }
  describeUser();
  suggest();
});

/** Calls the API of this model (or, with `prefix` "", a path of its own); an error answer becomes an Error with the server's message. */
async function api(path, init = {}, prefix = base) {
  const headers = new Headers(init.headers);
  const token = tokenInput.value.trim();
  if (token) headers.set("authorization", `Bearer ${token}`);
  const res = await fetch(prefix + path, { ...init, headers });
  const body = await res.json().catch(() => null);
  if (res.ok) return body;
  if (res.status === 401) $("token-box").open = true;
  throw new Error(body?.error ? `${body.error.message} (${res.status} ${body.error.code})` : `HTTP ${res.status}`);
}

function showStatus(message) {
  status.textContent = message;
}

/** The text before the word being typed, and that partial word (lowercase, as the model's words are). */
function split(value) {
  const m = /[\p{L}\p{N}][\p{L}\p{M}\p{N}'-]*$/u.exec(value);
  return m ? { context: value.slice(0, m.index), partial: m[0].toLowerCase() } : { context: value, partial: "" };
}

let inFlight = null;
let timer = 0;

function scheduleSuggest() {
  clearTimeout(timer);
  timer = setTimeout(suggest, DEBOUNCE_MS);
}

/**
 * Next words after the text; while a word is being typed, the server completes it (partial=: the
 * most probable words that start with it, searched over the whole vocabulary).
 */
/** The last message a failed suggestion put in the status line. */
let suggestFailure = null;

async function suggest() {
  inFlight?.abort();
  const request = (inFlight = new AbortController());
  const typed = text.value;
  const { context, partial } = split(typed);
  const user = currentUser();
  // A user's layer sees every lesson at once by itself; the shared model needs fresh=1 for that.
  const query = new URLSearchParams({
    prefix: context.slice(-CONTEXT_CHARS),
    k: String(SHOWN),
    ...(user ? { user } : { fresh: "1" }),
    ...(partial && { partial }),
  });
  try {
    const body = await api(`/predict?${query}`, { signal: request.signal });
    if (request !== inFlight) return; // a newer keystroke's answer will render
    render(body.predictions, typed, sentenceStart(context));
    // Clear only this function's own earlier failure: a status another action just set stays.
    if (status.textContent === suggestFailure) showStatus("");
  } catch (e) {
    if (request === inFlight) showStatus((suggestFailure = e.message));
  }
}

/** Whether a word typed after `context` starts a sentence: after nothing, or after . ? or !. */
function sentenceStart(context) {
  return /(^|[.?!]["')\]]*)\s*$/u.test(context);
}

/** Each suggestion in its written form (p.text: "I", "Washington"), capitalised at a sentence's start. */
function render(predictions, forText, capitalise = false) {
  chips.dataset.text = forText; // which text these suggestions are for
  chips.replaceChildren(
    ...predictions.map((p) => {
      const shown = capitalise && /^\p{Ll}/u.test(p.text) ? p.text[0].toUpperCase() + p.text.slice(1) : p.text;
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.dataset.word = p.word;
      chip.dataset.text = shown;
      chip.dataset.p = String(p.p);
      const pct = document.createElement("small");
      pct.textContent = `${(p.p * 100).toFixed(p.p < 0.01 ? 2 : 1)}%`;
      chip.append(shown, pct);
      chip.addEventListener("click", () => insert(shown));
      return chip;
    }),
  );
}

/** Replaces the partial word by `word` (punctuation attaches to the word before it). */
function insert(word) {
  const { context } = split(text.value);
  const isWord = /^[\p{L}\p{N}]/u.test(word);
  const head = !isWord ? context.trimEnd() : context === "" || /\s$/.test(context) ? context : `${context} `;
  text.value = `${head}${word} `;
  text.focus();
  text.setSelectionRange(text.value.length, text.value.length);
  suggest();
}

text.addEventListener("input", scheduleSuggest);
text.addEventListener("keydown", (e) => {
  const plain = !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey;
  const first = chips.querySelector(".chip");
  if (e.key === "Tab" && plain && first) {
    e.preventDefault();
    insert(first.dataset.text);
  } else if (e.key === "Escape") {
    render([], text.value);
  } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    teach();
  }
});

async function teach() {
  const sentence = text.value.trim();
  if (!sentence) {
    showStatus("Type a sentence to teach first.");
    return;
  }
  teachButton.disabled = true;
  const user = currentUser();
  try {
    const r = await api("/learn", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sentence, ...(user && { user }) }),
    });
    if (user) {
      teachResult.textContent = `Learned ${r.tokens} tokens into ${user}'s layer (${numbers.format(r.user.learns)} sentences so far)`;
      showStatus("");
      await suggest();
      describeUser();
      return;
    }
    const learned =
      `Learned ${r.tokens} tokens: loss ${r.lossBefore.toFixed(2)} → ${r.lossAfter.toFixed(2)} per token, ` +
      `in version ${r.model.version}`;
    teachResult.textContent = r.model.published ? learned : `${learned}, published shortly`;
    showStatus("");
    await suggest();
    if (!r.model.published && (await followPublish(r.model.version)))
      teachResult.textContent = `${learned}, now published`;
  } catch (e) {
    showStatus(e.message);
  } finally {
    teachButton.disabled = false;
  }
}

teachButton.addEventListener("click", teach);

const PUBLISH_POLL_MS = 2000;
const PUBLISH_WAIT_MS = 60_000;

/** Shows the published model; answers its version (0 when it could not be read). */
async function describeModel() {
  try {
    const m = await api("/model");
    const output = m.output === "class" ? `${m.classes} word classes` : "full softmax";
    const learned = m.learns === 1 ? "1 sentence" : `${numbers.format(m.learns)} sentences`;
    modelLine.textContent =
      `Model “${m.id}”, published version ${m.version}: ${numbers.format(m.vocab)} words, ${m.hidden} hidden units, ` +
      `${output}, ${(m.bytes / 1e6).toFixed(1)} MB · ${learned} learned`;
    return m.version;
  } catch (e) {
    modelLine.textContent = e.message;
    return 0;
  }
}

/** Refreshes the model line until `version` is published (the writer publishes at most every few seconds). */
async function followPublish(version) {
  const deadline = Date.now() + PUBLISH_WAIT_MS;
  for (;;) {
    if ((await describeModel()) >= version) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, PUBLISH_POLL_MS));
  }
}

listUsers();
describeModel();
suggest();
