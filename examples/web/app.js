// The demo frontend: every sign-in method the deployment offers, the session, sign-out,
// and tabs that follow each other. Plain ESM; the SDK is served as /sdk.js.
import { createAuthClient } from "/sdk.js";

const { functionsUrl } = await (await fetch("/config.json")).json();
const params = new URLSearchParams(location.search);
const mode = params.get("mode") === "token" ? "token" : "cookie";
const auth = createAuthClient({
  baseUrl: functionsUrl,
  mode,
  // Token mode: the one-time code comes back to this page, still in token mode.
  redirectUri: mode === "token" ? `${location.origin}${location.pathname}?mode=token` : undefined,
  refetchInterval: 300,
});
const $ = (id) => document.getElementById(id);

$("mode").textContent = mode === "token" ? "token (PKCE, bearer)" : "cookie";
$("switch-mode").href = mode === "token" ? "?" : "?mode=token";
const say = (text) => ($("message").textContent = text);

auth.subscribe(({ status, session }) => {
  $("status").dataset.status = status;
  $("status").textContent = status === "authenticated"
    ? `Signed in as ${session.user.email ?? session.user.name}`
    : status === "loading"
    ? "Loading…"
    : status === "mfa_required"
    ? "Almost there: enter the code from your authenticator app"
    : "Signed out";
  $("signed-in").hidden = status !== "authenticated";
  $("methods").hidden = status !== "unauthenticated";
  $("mfa-required").hidden = status !== "mfa_required";
  $("session").textContent = session ? JSON.stringify(session, null, 2) : "";
  if (status === "authenticated") void showMfa();
});

// The second factor (when the deployment enables it): set up an app, then codes at sign-in.
async function showMfa() {
  try {
    const { enrolled, recoveryCodesLeft } = await auth.mfa.status();
    $("mfa-setup").hidden = false;
    $("mfa-state").textContent = enrolled
      ? `Authenticator app on (${recoveryCodesLeft} recovery codes left).`
      : "Protect this account with an authenticator app.";
    $("mfa-enroll").hidden = enrolled;
  } catch {
    $("mfa-setup").hidden = true; // AUTH_MFA is off on this deployment
  }
}

$("mfa-enroll").addEventListener("click", async () => {
  const { secret, qr } = await auth.mfa.enroll();
  $("mfa-qr").src = `data:image/svg+xml,${encodeURIComponent(qr)}`;
  $("mfa-secret").textContent = secret;
  $("mfa-scan").hidden = false;
});

$("mfa-confirm").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const { recoveryCodes } = await auth.mfa.confirm(event.target.code.value);
    $("mfa-scan").hidden = true;
    $("mfa-recovery").textContent = recoveryCodes.join("\n");
    $("mfa-codes").hidden = false;
    say("Authenticator app added.");
  } catch (error) {
    say(`Cannot confirm: ${error.message}`);
  }
});

$("mfa-verify").addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = event.target.code.value.trim();
  try {
    await (/^\d{6}$/.test(value.replace(/\s/g, ""))
      ? auth.mfa.verify(value)
      : auth.mfa.verifyRecoveryCode(value));
    event.target.reset();
    say("Signed in with your second factor.");
  } catch (error) {
    say(`Cannot verify: ${error.message}`);
  }
});

$("signout").addEventListener("click", async () => {
  await auth.signOut();
  say("Signed out.");
});

function field(name, type, placeholder) {
  const input = document.createElement("input");
  Object.assign(input, { name, type, placeholder, required: true });
  return input;
}

function button(text) {
  const el = document.createElement("button");
  el.textContent = text;
  return el;
}

const providers = await auth.getProviders();
for (const provider of Object.values(providers)) {
  const form = document.createElement("form");
  form.className = "method";
  form.dataset.provider = provider.id;
  if (provider.type === "email") {
    form.append(field("email", "email", "you@example.com"), button(`Email me a link`));
  } else if (provider.type === "credentials") {
    form.append(
      field("email", "email", "you@example.com"),
      field("password", "password", "password"),
      button(`Sign in with ${provider.name}`),
    );
  } else if (provider.type === "oauth" || provider.type === "oidc") {
    form.append(button(`Sign in with ${provider.name}`));
  } else {
    continue; // passkeys need their own ceremony; not part of this demo
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(form));
    try {
      const result = await auth.signIn(provider.id, { ...fields, redirect: false });
      if (!result.ok) say(`Sign-in refused: ${result.error}`);
      else if (provider.type === "email") say(`Check your inbox: a link went to ${fields.email}.`);
    } catch (error) {
      say(`Sign-in failed: ${error.message}`);
    }
  });
  $("methods").append(form);
}

try {
  if (await auth.handleRedirectCallback()) say("Signed in with a one-time code (token mode).");
} catch (error) {
  say(`Cannot finish sign-in: ${error.message}`);
}
await auth.getSession();
