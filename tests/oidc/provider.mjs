// A real OpenID Connect provider on loopback for Docket's SSO browser tests: the certified
// `oidc-provider` package with its built-in (development) login page, one
// confidential client, and the test accounts the fixture passes in.
//
// Started by tests/browser/oidc_fixture.py:
//   node tests/oidc/provider.mjs
// with, in the environment:
//   OIDC_PORT            the port to listen on (127.0.0.1)
//   OIDC_CLIENT_ID       the one client's id
//   OIDC_CLIENT_SECRET   its secret
//   OIDC_REDIRECT_URIS   comma-separated redirect URIs (the app's /oauth2callback); also the
//                        post-logout redirect URIs (Streamlit's st.logout() comes back there)
//   OIDC_ACCOUNTS        JSON: {"login name": {"email": ..., "email_verified": true,
//                        "name": ..., "groups": [...]}, ...}. The login page accepts any
//                        password; the login name picks the account (an unknown name is
//                        refused by the provider).
// It prints "listening <issuer>" once it accepts connections.
import Provider, { interactionPolicy } from 'oidc-provider';

const port = Number(process.env.OIDC_PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const redirectUris = (process.env.OIDC_REDIRECT_URIS || '').split(',').filter(Boolean);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

// Streamlit asks for prompt=select_account; this provider has one account per browser, so
// the prompt is accepted and does nothing (no checks: it never starts an interaction).
const policy = interactionPolicy.base();
const selectAccount = new interactionPolicy.Prompt({ name: 'select_account', requestable: true });
selectAccount.checks.clear();
policy.add(selectAccount, 0);

const configuration = {
  interactions: { policy },
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID || 'docket',
    client_secret: process.env.OIDC_CLIENT_SECRET || 'docket-test-secret',
    redirect_uris: redirectUris,
    post_logout_redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  // The requested claims go into the ID token too (Streamlit reads st.user from it), not only
  // into the userinfo response.
  conformIdTokenClaims: false,
  cookies: { keys: ['docket-test-oidc-provider-cookie-key'] },
  // Docket is a first-party app here, as at a company's provider (consent given by an
  // admin): no consent page, the grant is made at the first sign-in.
  async loadExistingGrant(ctx) {
    const { client, session, provider: op } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) {
      return op.Grant.find(grantId);
    }
    const grant = new op.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) {
      return undefined;
    }
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account };
      },
    };
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});

function stop() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
