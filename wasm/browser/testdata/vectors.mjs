// The vectors of shared/PROTOCOLS.md, as literals (computed there with Node's
// crypto, independently of this project). Shared by the Node and Chromium tests:
// runVectors(api) returns a list of mismatches, empty when all agree.

const NFON = { keyId: "3697ad86-fa77-4b25-9373-02dce48530ff", secret: "nfon-example-secret", date: 1754490720000 };
const NFON_BODY = '{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}';
const KEYFAX = {
  hostName: "Dev",
  apiKey: "28f7d828-3f78-4482-a0ac-5f5a64edd4b4",
  signingKey: "EI4fm9mmaLttvt5485x+YfOBNYKbb++cYG5HH/aZ8VfT2SdXLwrKHjKqCjckTsovVyoUm1x0CrMRM/wDFc1LTw==",
  nonce: "3f2504e04f8941d39a0c0305e82c3301",
  timestamp: 1700000000 * 1000,
};

export const vectors = [
  {
    name: "NFON GET",
    run: (api) => api.nfon.sign({ ...NFON, method: "GET", path: "/api/customers/K1234/phone-books" }).headers.Authorization,
    want: "NFON-API 3697ad86-fa77-4b25-9373-02dce48530ff:ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=",
  },
  {
    name: "NFON GET with query",
    run: (api) => api.nfon.sign({ ...NFON, method: "GET", path: "/api/customers/K1234/phone-books?search=I%20Am%20Encoded" }).headers.Authorization,
    want: "NFON-API 3697ad86-fa77-4b25-9373-02dce48530ff:7HXhfWhFeAJCqkOG1cmbBAZG/Xo=",
  },
  {
    name: "NFON POST",
    run: (api) => {
      const s = api.nfon.sign({ ...NFON, method: "POST", path: "/api/customers/K1234/phone-books", body: NFON_BODY, contentType: "application/json" });
      return [s.headers.Authorization, s.headers["Content-MD5"], s.headers["Content-Type"], s.headers["x-nfon-date"]].join(" | ");
    },
    want: "NFON-API 3697ad86-fa77-4b25-9373-02dce48530ff:1OPtkwRjA5ElFXJhVQ7I4uqKdwI= | 4a51ed3a364b24112745d91921b177e5 | application/json | Wed, 06 Aug 2025 14:32:00 GMT",
  },
  {
    name: "NFON date as Date and as RFC 3339",
    run: (api) =>
      [new Date(NFON.date), "2025-08-06T14:32:00Z", "2025-08-06T16:32:00+02:00"]
        .map((date) => api.nfon.sign({ ...NFON, date, method: "GET", path: "/api/customers/K1234/phone-books" }).headers.Authorization.slice(-28))
        .join(" "),
    want: "ofdQ9hgbzJ/n5f0iL2mXVXJ14T0= ofdQ9hgbzJ/n5f0iL2mXVXJ14T0= ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=",
  },
  {
    name: "Keyfax startup",
    run: (api) => {
      const s = api.keyfax.basic({ ...KEYFAX, method: "POST", url: "https://keyfax.example.com/Interview/api/v1/startup", body: '{"mode":{"value":"ROL"},"company":{"value":"OL3_Dev"}}' });
      return s.signature + " " + s.stringToSign;
    },
    want:
      "6yeZnOkqs/b/MrzpPDX0HkmVV2LcMU92A30vzj8zxwY= " +
      "28f7d828-3f78-4482-a0ac-5f5a64edd4b4POSThttps%3a%2f%2fkeyfax.example.com%2finterview%2fapi%2fv1%2fstartup17000000003f2504e04f8941d39a0c0305e82c3301beGK/MLlAIQETlpsj43EuA==",
  },
  {
    name: "Keyfax token",
    run: (api) => api.keyfax.basic({ ...KEYFAX, method: "GET", url: "https://keyfax.example.com/Interview/api/v1/token" }).headers.Authorization,
    want: "Basic Dev:28f7d828-3f78-4482-a0ac-5f5a64edd4b4:/FZFrOf4TNSrV8d9PzrCbv/IdKqC9QOWnxn4PwPR5yw=:3f2504e04f8941d39a0c0305e82c3301:1700000000",
  },
  {
    name: "Keyfax-style Basic, public sample",
    run: (api) => {
      const s = api.keyfax.basic({
        hostName: "Sample",
        apiKey: "4d53bce03ec34c0a911182d4c228ee6c",
        signingKey: "A93reRTUJHsCuQSHR+L3GxqOJyDmQpCgps102ciuabc=",
        method: "POST",
        url: "http://localhost:43326/api/orders",
        timestamp: 1700000000000,
        nonce: "0123456789abcdef0123456789abcdef",
        body: '{"OrderID":10248,"CustomerName":"Taiseer Joudeh","ShipperCity":"Amman","IsShipped":true}',
      });
      return s.signature + " " + s.stringToSign;
    },
    want:
      "eiEwhI+5TKTp3R09ykW03s/5hncPIRmRYh13consbS4= " +
      "4d53bce03ec34c0a911182d4c228ee6cPOSThttp%3a%2f%2flocalhost%3a43326%2fapi%2forders17000000000123456789abcdef0123456789abcdef0moQeULsJyv2u6NRkmiAMA==",
  },
  {
    name: "Keyfax bearer",
    run: (api) => api.keyfax.bearer({ hostName: "Dev", token: "aGVhZA.cGF5bG9hZA.c2ln" }),
    want: "Bearer Dev:aGVhZA.cGF5bG9hZA.c2ln",
  },
  {
    name: "Fortis HMAC",
    run: (api) => api.fortis.hmac({ developerId: "dev", userId: "11e95f8ec39de8fbdb0a4f1a", userHashKey: "fortis-example-hash-key", timestamp: 1422283692000 }).headers["hash-key"],
    want: "21800953f8bc7ead8de43c5dd22d4603297a32930571059e0efc54ff1668855a",
  },
  {
    name: "Fortis HMAC, Fortis documentation",
    run: (api) => {
      const s = api.fortis.hmac({ developerId: "dev", userId: "my_user_id", userHashKey: "my_user_hash_key", timestamp: new Date(1234567890000) });
      return s.headers["hash-key"] + " " + s.headers.timestamp + " " + s.stringToSign;
    },
    want: "fc62408f3d419105e38287b84fd7ff0581a64a31d18f95183c58c61aa9727ed9 1234567890 my_user_id1234567890",
  },
  {
    name: "Ansira token request",
    run: (api) => {
      const r = api.ansira.tokenRequest({ tokenUrl: "https://auth-stage.sproutloud.com/oauth/v2/oauth-token", clientId: "client", clientSecret: "secret", assertion: "a.b.c", scope: "read write" });
      return [r.method, r.url, r.headers.Authorization, r.headers["Content-Type"], r.headers.Accept, r.headers["Cache-Control"], r.body].join(" | ");
    },
    want:
      "POST | https://auth-stage.sproutloud.com/oauth/v2/oauth-token | Basic Y2xpZW50OnNlY3JldA== | application/x-www-form-urlencoded | application/json | no-cache | " +
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&scope=read+write&assertion=a.b.c",
  },
  {
    name: "Fonn headers",
    run: (api) => JSON.stringify(api.fonn.headers({ subscriptionKey: "sub", accessToken: "tok", impersonatedUserExternalId: "ext-1" }).headers),
    want: '{"Authorization":"tok","Ocp-Apim-Subscription-Key":"sub","impersonatedUserExternalId":"ext-1"}',
  },
];

/** Runs every vector; returns the mismatches (empty when all agree). */
export function runVectors(api) {
  const bad = [];
  for (const v of vectors) {
    let got;
    try {
      got = v.run(api);
    } catch (e) {
      got = `threw ${e.code} ${e.message}`;
    }
    if (got !== v.want) bad.push(`${v.name}: got ${got}, want ${v.want}`);
  }
  return bad;
}
