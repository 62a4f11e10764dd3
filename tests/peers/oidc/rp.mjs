// A relying party (a « service ») built on openid-client, the OpenID-certified library, to
// prove ÉduConnect's provider with a real peer: the code flow with PKCE (S256), state and
// nonce, the ID token's signature (JWKS), issuer, audience and lifetime checked by the
// library, then userinfo, then RP-initiated logout.
//
// node rp.mjs — configured by the environment:
//   ISSUER         the provider's issuer (discovery at ISSUER/.well-known/openid-configuration)
//   CLIENT_ID, CLIENT_SECRET, SCOPE (default "openid profile children")
//   PORT           0 (default) for any free port; the first line printed is {"port": N}
// Listens on 127.0.0.1. Routes:
//   /login       starts a sign-in (redirects to the provider)
//   /callback    the redirect_uri: exchanges the code, checks everything, shows who signed in
//   /result      the last result as JSON ({claims, userinfo} or {error})
//   /logout      RP-initiated logout at the provider, back to /logged-out
import http from 'node:http';
import * as client from 'openid-client';

const issuer = new URL(process.env.ISSUER);
const scope = process.env.SCOPE || 'openid profile children';
const config = await client.discovery(
  issuer, process.env.CLIENT_ID, process.env.CLIENT_SECRET,
  client.ClientSecretBasic(process.env.CLIENT_SECRET),
  { execute: [client.allowInsecureRequests] }, // loopback http in tests only
);

const pending = new Map(); // state -> {verifier, nonce}
let last = { error: 'no sign-in yet' };
let base = '';

const escape = (text) => String(text).replace(/[&<>"']/g,
  (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

function page(res, status, title, body) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>${escape(title)}</title></head>` +
    `<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`);
}

async function handle(req, res) {
  const url = new URL(req.url, base);
  if (url.pathname === '/login') {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    pending.set(state, { verifier, nonce });
    const target = client.buildAuthorizationUrl(config, {
      redirect_uri: `${base}/callback`, scope, state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    res.writeHead(302, { Location: target.href });
    return res.end();
  }
  if (url.pathname === '/callback') {
    const expected = pending.get(url.searchParams.get('state'));
    try {
      if (!expected) throw new Error('unknown state');
      pending.delete(url.searchParams.get('state'));
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: expected.verifier, expectedState: url.searchParams.get('state'),
        expectedNonce: expected.nonce, idTokenExpected: true,
      });
      const claims = tokens.claims();
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      last = { claims, userinfo, id_token: tokens.id_token };
      const children = (userinfo.children || []).map((child) =>
        `<li>${escape(child.given_name)} ${escape(child.family_name)} — ${escape(child.level)} (${escape(child.school_uai)})</li>`).join('');
      return page(res, 200, 'Service de test : vous êtes connecté(e)',
        `<p id="person">${escape(userinfo.given_name || '')} ${escape(userinfo.family_name || '')}</p>` +
        `<ul id="children">${children}</ul><p><a href="/logout">Se déconnecter</a></p>`);
    } catch (error) {
      last = { error: `${error.name}: ${error.message}`, oauth_error: error.error || null };
      return page(res, 400, 'Service de test : connexion refusée', `<p id="error">${escape(last.error)}</p>`);
    }
  }
  if (url.pathname === '/result') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify(last));
  }
  if (url.pathname === '/logout') {
    const target = client.buildEndSessionUrl(config, {
      id_token_hint: last.id_token, post_logout_redirect_uri: `${base}/logged-out`, state: 'bye',
    });
    res.writeHead(302, { Location: target.href });
    return res.end();
  }
  if (url.pathname === '/logged-out') {
    return page(res, 200, 'Service de test : vous êtes déconnecté(e)',
      `<p id="state">${escape(url.searchParams.get('state') || '')}</p>`);
  }
  return page(res, 404, 'Introuvable', '');
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => page(res, 500, 'Erreur', `<p>${escape(error.message)}</p>`));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  base = `http://127.0.0.1:${port}`;
  console.log(JSON.stringify({ port }));
});
