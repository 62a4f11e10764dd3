// A loopback OpenID Connect provider configured as FranceConnect v2, for the tests of the
// franceconnect app (tests/franceconnect/peer.py starts it).
//
// oidc-provider (OpenID Certified) mounted under /api/v2 with FranceConnect's route names
// (/authorize, /token, /userinfo, /jwks, /session/end), one ES256 signing key, signed
// userinfo (application/jwt), acr eidas1, one scope per claim, FC's rule that state and
// nonce have at least 32 characters (else 400 Y030007), an access token of 60 s and a code
// of 30 s. No interaction page: /interaction/<uid> signs in the identity chosen by the
// control endpoint (a few of FranceConnect's demo identities) and consents at once.
//
// Environment: PORT (0: any free port), CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS and
// POST_LOGOUT_URIS (comma-separated). Prints {"port": N} on its first line once listening.
//
// Control (tests only, loopback): POST /___control___ with JSON
//   {"identity": "<key>"}           the identity the next interaction signs in
//   {"deny": true}                   the next interaction ends on error=access_denied
//   {"tamper": {"id_token": {...}}}  the next /token answer carries an ID token changed:
//       "claims": {...} merged into it, "key": "valid" | "foreign" (same kid, another key) |
//       "rotated" (a new key, published in /jwks from now on) | "unknown" (a new key, never
//       published); re-signed with that key
//   {"tamper": {"userinfo": {...}}}  the same for the next /userinfo answer
// GET /___control___ answers {"jwks_hits": N, "end_session_hits": N}.
import crypto from 'node:crypto';
import http from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const MOUNT = '/api/v2';
const env = process.env;
const CLIENT_ID = env.CLIENT_ID || 'educonnect-test';
const CLIENT_SECRET = env.CLIENT_SECRET || 'a-client-secret-of-the-loopback-franceconnect';
const REDIRECT_URIS = (env.REDIRECT_URIS || '').split(',').filter(Boolean);
const POST_LOGOUT_URIS = (env.POST_LOGOUT_URIS || '').split(',').filter(Boolean);

// FranceConnect's demo identity provider's accounts (france-connect/identity-provider-example).
const IDENTITIES = {
  testfc1: {
    given_name: 'Stéphane Louis Perceval', family_name: 'DUPONT', birthdate: '1962-08-24',
    gender: 'male', birthplace: '75112', birthcountry: '99100',
    email: 'stephane.dupont@example.fr', preferred_username: 'DUPONT',
  },
  '3_melaine': {
    given_name: 'Mélaine Évelyne', family_name: 'TROIS', birthdate: '1981-07-27',
    gender: 'female', birthplace: '95277', birthcountry: '99100',
    email: 'melaine.trois@example.fr', preferred_username: 'TROIS',
  },
  hdupre: {
    given_name: 'Hélène Marie', family_name: 'DUPRÉ', birthdate: '1984-03-02',
    gender: 'female', birthplace: '69123', birthcountry: '99100',
    email: 'helene.dupre@example.fr', preferred_username: 'DUPRÉ LA GARDE',
  },
};

// FranceConnect's sub: 64 hexadecimal characters and "v1", one per identity and client.
const subOf = (key) => `${crypto.createHash('sha256').update(`fc:${CLIENT_ID}:${key}`).digest('hex')}v1`;
const identityOfSub = new Map(Object.keys(IDENTITIES).map((key) => [subOf(key), key]));

const control = { identity: 'testfc1', deny: false, tamper: {}, jwksHits: 0, endSessionHits: 0 };

async function es256Key(kid) {
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}
const signingKey = await es256Key('fc-sig-1');
const foreignKey = { ...(await es256Key('x')), kid: signingKey.kid }; // same kid, another key
const rotatedKey = await es256Key('fc-sig-2');
const unknownKey = await es256Key('fc-sig-unknown');
let rotatedPublished = false;

const publicJwk = ({ d, ...pub }) => pub; // eslint-disable-line no-unused-vars

async function resign(jwt, { claims = {}, key = 'valid' } = {}) {
  const payload = { ...jose.decodeJwt(jwt), ...claims };
  const jwk = { valid: signingKey, foreign: foreignKey, rotated: rotatedKey, unknown: unknownKey }[key];
  if (key === 'rotated') rotatedPublished = true;
  const secret = await jose.importJWK(jwk, 'ES256');
  return new jose.SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
    .sign(secret);
}

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(env.PORT || 0), '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}${MOUNT}`;

const claimsConfig = {
  openid: ['sub'],
  given_name: ['given_name'], family_name: ['family_name'], birthdate: ['birthdate'],
  gender: ['gender'], birthplace: ['birthplace'], birthcountry: ['birthcountry'],
  email: ['email'], preferred_username: ['preferred_username'],
  profile: ['family_name', 'given_name', 'preferred_username', 'gender', 'birthdate'],
  birth: ['birthplace', 'birthcountry'],
  identite_pivot: ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry'],
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID, client_secret: CLIENT_SECRET,
    redirect_uris: REDIRECT_URIS, post_logout_redirect_uris: POST_LOGOUT_URIS,
    grant_types: ['authorization_code'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'ES256', userinfo_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signingKey] },
  claims: claimsConfig,
  acrValues: ['eidas1', 'eidas2', 'eidas3'],
  routes: {
    authorization: '/authorize', token: '/token', userinfo: '/userinfo', jwks: '/jwks',
    end_session: '/session/end',
  },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // FranceConnect does not ask: the confirmation submits itself.
      async logoutSource(ctx, form) {
        ctx.body = `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Déconnexion</title></head>
          <body>${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Déconnexion</button>
          <script>document.querySelector('button[name=logout]').click()</script></body></html>`;
      },
    },
  },
  pkce: { required: () => false },
  interactions: { url: (ctx, interaction) => `${MOUNT}/interaction/${interaction.uid}` },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  ttl: { AccessToken: 60, AuthorizationCode: 30, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
  async findAccount(ctx, sub) {
    const key = identityOfSub.get(sub);
    if (!key) return undefined;
    return { accountId: sub, async claims() { return { sub, ...IDENTITIES[key] }; } };
  },
});

// FranceConnect's checks of /authorize (Y030007: state or nonce shorter than 32 characters).
provider.use(async (ctx, next) => {
  if (ctx.path === '/authorize') {
    const { state = '', nonce = '', acr_values: acr = '' } = ctx.query;
    if (state.length < 32 || nonce.length < 32 || !acr) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'Y030007' };
      return;
    }
  }
  if (ctx.path === '/jwks') control.jwksHits += 1;
  if (ctx.path === '/session/end') control.endSessionHits += 1;
  await next();
  if (ctx.path === '/jwks' && rotatedPublished && ctx.body?.keys) {
    ctx.body = { keys: [...ctx.body.keys, publicJwk(rotatedKey)] };
  }
  if (ctx.path === '/token' && ctx.body?.id_token && control.tamper.id_token) {
    const change = control.tamper.id_token;
    control.tamper.id_token = undefined;
    ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token, change) };
  }
  if (ctx.path === '/userinfo' && typeof ctx.body === 'string' && control.tamper.userinfo) {
    const change = control.tamper.userinfo;
    control.tamper.userinfo = undefined;
    ctx.body = await resign(ctx.body, change);
  }
});

// The interaction, without a page: the chosen identity signs in (eidas1) and consents.
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  let result;
  if (control.deny) {
    control.deny = false;
    result = { error: 'access_denied', error_description: 'User auth aborted' };
  } else {
    const accountId = subOf(control.identity);
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    result = {
      login: { accountId, acr: 'eidas1', amr: ['pwd'] },
      consent: { grantId: await grant.save() },
    };
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(to);
});

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/___control___')) {
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jwks_hits: control.jwksHits, end_session_hits: control.endSessionHits }));
      return;
    }
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const change = JSON.parse(body || '{}');
      if (change.identity) control.identity = change.identity;
      if (change.deny !== undefined) control.deny = change.deny;
      if (change.tamper) control.tamper = { ...control.tamper, ...change.tamper };
      res.end('{}');
    });
    return;
  }
  if (req.url.startsWith(MOUNT)) {
    req.originalUrl = req.url;
    req.url = req.url.slice(MOUNT.length) || '/';
    callback(req, res);
    return;
  }
  res.statusCode = 404;
  res.end();
});

process.stdout.write(`${JSON.stringify({ port, issuer, subs: Object.fromEntries(Object.keys(IDENTITIES).map((k) => [k, subOf(k)])) })}\n`);
process.on('SIGTERM', () => process.exit(0));
