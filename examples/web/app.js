// The demo frontend: every sign-in method the deployment offers, the session, sign-out,
// passkeys (add, list, remove, sign in with one), and tabs that follow each other. Plain
// ESM; the SDK is served as /sdk.js.
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
let passkeysOffered = false; // set once /providers answers

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
  if (status === "authenticated" && passkeysOffered) void showPasskeys();
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

// Passkeys: listed and managed while signed in (cookie mode: the challenge is a cookie).
async function showPasskeys() {
  $("passkeys").hidden = false;
  try {
    const passkeys = await auth.listPasskeys();
    $("passkey-list").replaceChildren(...passkeys.map((passkey) => {
      const item = document.createElement("li");
      item.dataset.id = passkey.id;
      const label = document.createElement("code");
      label.textContent = `${passkey.id.slice(0, 12)}… added ${passkey.createdAt}` +
        (passkey.lastUsedAt ? `, last used ${passkey.lastUsedAt}` : "");
      const remove = button("Remove");
      remove.className = "remove-passkey";
      remove.addEventListener("click", async () => {
        try {
          await auth.removePasskey(passkey.id);
          say("Passkey removed.");
        } catch (error) {
          say(`Cannot remove the passkey: ${error.code ?? error.message}`);
        }
        await showPasskeys();
      });
      item.append(label, remove);
      return item;
    }));
  } catch (error) {
    say(`Cannot list passkeys: ${error.code ?? error.message}`);
  }
}

$("add-passkey").addEventListener("click", async () => {
  try {
    await auth.registerPasskey();
    say("Passkey added: you can sign in with it now.");
  } catch (error) {
    say(`Cannot add a passkey: ${error.code ?? error.message}`);
  }
  await showPasskeys();
});

const providers = await auth.getProviders();
passkeysOffered = mode === "cookie" &&
  Object.values(providers).some((provider) => provider.type === "webauthn");
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
  } else if (provider.type === "webauthn" && passkeysOffered) {
    form.append(button("Sign in with a passkey"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await auth.signInWithPasskey();
        say("Signed in with a passkey.");
      } catch (error) {
        say(`Passkey sign-in refused: ${error.code ?? error.message}`);
      }
    });
    $("methods").append(form);
    continue;
  } else {
    continue; // passkeys need cookie mode (their challenge is a cookie)
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
