// A real OpenID provider for the SSO tests (tests/test_sso_oidc.py): the certified `oidc-provider` package on
// 127.0.0.1, configured from one JSON argument, with its devInteractions login and consent forms (the tests post
// them with httpx). Prints "ready <issuer>" once it listens; stops on SIGTERM or when stdin closes.
//
//   node tools/node/oidc-provider.mjs '{"port": 0, "clients": [...], "accounts": {...}, "aliases": {...}}'
//
// clients:  [{client_id, client_secret, redirect_uris}] (authorization code flow, PKCE required, client_secret_basic)
// accounts: {accountId: {preferred_username, name, ...}}; the account id is the subject (sub)
// aliases:  {alias: client_id}: requests naming alias are served as that other client, so its tokens are issued to
//           the other client (aud). Tests configure the service with an alias to see it refuse such a token.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] || '{}');
const aliases = config.aliases || {};
const accounts = config.accounts || {};

const server = createServer();
await new Promise((resolve) => { server.listen(config.port || 0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: (config.clients || []).map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  async findAccount(ctx, id) {
    if (!Object.hasOwn(accounts, id)) return undefined;
    return { accountId: id, claims: async () => ({ ...accounts[id], sub: id }) };
  },
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['shifan-sso-tests-only'] },
});

function unalias(id) { return Object.hasOwn(aliases, id) ? aliases[id] : id; }

provider.use(async (ctx, next) => {
  const clientId = ctx.query.client_id;
  if (typeof clientId === 'string' && Object.hasOwn(aliases, clientId)) {
    const query = new URLSearchParams(ctx.querystring);
    query.set('client_id', unalias(clientId));
    ctx.querystring = query.toString();
  }
  const basic = ctx.get('authorization');
  if (basic.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(basic.slice(6), 'base64').toString().split(':');
    const real = unalias(decodeURIComponent(id));
    ctx.req.headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(real)}:${secret}`).toString('base64')}`;
  }
  await next();
});

server.on('request', provider.callback());
process.stdout.write(`ready ${issuer}\n`);

const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
