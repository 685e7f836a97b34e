// Types of apisign.mjs, the loader and JS API of the apisign browser module.
//
// Two kinds of functions:
//  - pure signing functions (api.nfon.sign, api.keyfax.basic, api.fortis.hmac,
//    api.fortis.apiKey, api.fonn.headers, api.ansira.tokenRequest): synchronous
//    and deterministic when the time (and nonce) are given. They take a
//    long-lived secret, so they are for JS runtimes where a secret may
//    legitimately live: Cloudflare Workers, Node, build and test tools, the
//    broker. Never call them in a web page with a real secret: anything a page
//    holds, its users can read.
//  - client flows (api.*.client): asynchronous, over fetch, for web pages. They
//    hold no long-lived secret, only short-lived tokens from the broker, or
//    they go through the broker's forwarding routes.
//
// Every failure throws (or rejects with) an ApisignError with a stable `code`.

/** Stable error codes; equal to the Go core's signers.Code strings. */
export type ErrorCode =
  | "E_INPUT" // a malformed argument (wrong type, bad URL, path, method, time, …)
  | "E_KEY" // a key or secret that cannot be used (empty, not base64, …)
  | "E_TOKEN" // a token or token answer that cannot be read
  | "E_TOKEN_EXPIRED" // no usable token: getToken failed, or the token expired and cannot be renewed
  | "E_TOKEN_REFUSED" // the provider refused the token, and the fresh one getToken gave after it too (see `status`)
  | "E_SIGNATURE"
  | "E_CLOCK"
  | "E_REPLAY"
  | "E_HTTP" // an answer with a status the flow cannot use (see `status`, `data`)
  | "E_NETWORK" // no answer (network failure, CORS refusal, bad module URL)
  | "E_ABORTED" // the AbortSignal fired, a timeout ran out, or the user closed the Keyfax window
  | "E_CONFIG" // something missing in this runtime or configuration (no fetch, no document)
  | "E_INTERNAL"; // a bug, recovered: the module keeps working

/** The error of every apisign failure. Its message never contains a secret. */
export declare class ApisignError extends Error {
  constructor(code: ErrorCode, message: string, options?: { status?: number; data?: unknown; cause?: unknown });
  readonly name: "ApisignError";
  /** The stable code: branch on this, not on the message. */
  readonly code: ErrorCode;
  /** The HTTP status, for E_HTTP and for E_TOKEN_REFUSED. */
  readonly status?: number;
  /** The answer's body (parsed like Response.data) for E_HTTP. */
  readonly data?: unknown;
}

/**
 * A time input: a Date, an RFC 3339 string ("2025-08-06T14:32:00Z") or epoch
 * milliseconds. Omitted: now, by the module's clock (see Api.clock).
 */
export type TimeInput = Date | string | number;

/** Exact request body bytes: a string is sent as its UTF-8 bytes. */
export type BodyInput = string | ArrayBuffer | ArrayBufferView;

/** Header fields as a plain object. */
export type Headers = Record<string, string>;

/** Query parameters, unencoded: an object, or [key, value] pairs in order. */
export type QueryInput = Record<string, string | number> | Array<[string, string | number]>;

/**
 * Instantiates the module once and resolves to the API; every later call
 * resolves to the same instance (its `source` is then ignored).
 *
 * @param source where the module's bytes come from: a URL or string (fetched;
 *   a file: URL is read from disk in Node), an ArrayBuffer or typed array of
 *   the bytes (Node: `load(fs.readFileSync("web/apisign.wasm"))`), a Response,
 *   or a compiled WebAssembly.Module. Default: `apisign.wasm` beside
 *   apisign.mjs.
 */
export declare function load(source?: string | URL | ArrayBuffer | ArrayBufferView | Response | WebAssembly.Module | Promise<Response>): Promise<Api>;

export interface Api {
  /** The module's version. */
  readonly version: string;
  readonly nfon: NfonApi;
  readonly keyfax: KeyfaxApi;
  readonly fortis: FortisApi;
  readonly fonn: FonnApi;
  readonly ansira: AnsiraApi;
  /** The module clock: the local clock corrected by server Date headers. */
  readonly clock: Clock;
  /** Drops the cached keyed HMAC states of the signing functions. */
  forgetKeys(): void;
}

export interface Clock {
  /** Milliseconds added to the local clock, learned from the last readable server Date header (0 under 2 s). */
  offsetMs(): number;
  /** Learns the offset from an HTTP Date header value; returns whether it could be read. */
  observe(date: string): boolean;
  /** The corrected time. */
  now(): Date;
}

// ---- NFON -------------------------------------------------------------------------

export interface NfonApi {
  /**
   * Signs an NFON Service Portal request (NFON-API, HMAC-SHA1). Synchronous.
   * For runtimes that may hold the secret (Workers, Node, tools), never a page:
   * pages call NFON through the broker (`client`).
   *
   * The key's HMAC state is built once and cached (see Api.forgetKeys).
   */
  sign(options: NfonSignOptions): NfonSigned;
  /** A client for NFON through the broker's forwarding route `{brokerUrl}/nfon/…`. */
  client(config: BrokerClientConfig): BrokerClient;
}

export interface NfonSignOptions {
  /** HTTP method; signed upper case. */
  method: string;
  /** The resource: path plus `?query`, percent-encoded as sent ("Base%20Device"); bytes that cannot go on the wire raw are encoded, valid escapes kept. */
  path: string;
  /**
   * Query parameters, unencoded, appended to path in NFON's encoding ("+49"
   * is sent as "%2B49", "=" and "/" in values encoded too): an object or
   * [key, value] pairs in order.
   */
  query?: QueryInput;
  /** The exact body bytes; hashed (Content-MD5) for POST, PUT and PATCH unless audio/*. */
  body?: BodyInput;
  /** The Content-Type sent; signed with Content-MD5. Required for POST, PUT and PATCH (E_INPUT) unless audio. */
  contentType?: string;
  /** An audio upload whatever its Content-Type (a multipart form): neither Content-MD5 nor Content-Type is signed. */
  audio?: boolean;
  /** The signing time (default now); sent as x-nfon-date, RFC 1123 GMT. */
  date?: TimeInput;
  /** The NFON key id. */
  keyId: string;
  /** The NFON secret. A long-lived secret. */
  secret: string;
}

export interface NfonSigned {
  /** Authorization, x-nfon-date, and Content-MD5 / Content-Type when signed. */
  headers: {
    Authorization: string;
    "x-nfon-date": string;
    "Content-MD5"?: string;
    "Content-Type"?: string;
  };
  /** The exact string that was signed. */
  stringToSign: string;
  /** The normalized resource that was signed: send exactly this path and query. */
  resource: string;
}

// ---- Keyfax -----------------------------------------------------------------------

export interface KeyfaxApi {
  /**
   * Signs a Keyfax server-flow request: `Authorization: Basic
   * {HostName}:{ApiKey}:{Signature}:{Nonce}:{Timestamp}`. Synchronous. For
   * runtimes that may hold the signing key (the broker, Node, tools), never a
   * page: pages use `client` with a JWT.
   */
  basic(options: KeyfaxBasicOptions): KeyfaxSigned;
  /** `Bearer {hostName}:{token}` for a Keyfax JWT. */
  bearer(options: { hostName: string; token: string }): string;
  /**
   * Keyfax's client flow for a page: JWTs from `getToken` (the broker),
   * renewed ahead of their exp, no secret.
   */
  client(config: KeyfaxClientConfig): KeyfaxClient;
}

export interface KeyfaxBasicOptions {
  method: string;
  /** The absolute request URI. */
  url: string;
  body?: BodyInput;
  /** The Keyfax host name, e.g. "Dev". */
  hostName: string;
  apiKey: string;
  /** The signing key as Keyfax issues it (base64). A long-lived secret. */
  signingKey: string;
  /** 32 lower-case hex digits; default: fresh from crypto random. */
  nonce?: string;
  /**
   * Default now; sent as Unix seconds. A number is epoch *milliseconds*, like
   * every time input (pass `1700000000 * 1000` for Unix time 1700000000).
   */
  timestamp?: TimeInput;
}

export interface KeyfaxSigned {
  headers: { Authorization: string };
  /** The raw string the HMAC covers. */
  stringToSign: string;
  signature: string;
  nonce: string;
  /** Unix seconds, as sent. */
  timestamp: string;
  /** The method as signed (upper case): send it so. */
  method: string;
}

/** Common options of every client. */
export interface ClientConfigBase {
  /** The fetch to use; default globalThis.fetch. */
  fetch?: typeof fetch;
  /**
   * Retries of 429 (after Retry-After, or backoff when a cross-origin answer
   * hides it) and 503 (exponential backoff with jitter). Defaults: 4 retries,
   * 250 ms base, 8 s cap, Retry-After honoured up to 60 s. `retries: 0` turns
   * retries off.
   */
  retry?: { retries?: number; baseMs?: number; capMs?: number; maxAfterMs?: number };
  /**
   * Calls per second, shared by all the client's calls: a burst is spread
   * evenly instead of being refused with 429s. Default: none (Ansira: by
   * environment).
   */
  rate?: number;
}

/** What a token function (getToken, callerToken) receives. */
export interface TokenRequest {
  /** Fires when the operation that needs the token is aborted: pass it on to your own fetch. */
  signal: AbortSignal;
  /**
   * The token the provider (or the broker) just refused, when this call is to
   * replace it: report it to the broker (so that it drops it too) instead of
   * remembering tokens in the page. Absent at first use and after an expiry.
   */
  refused?: string;
}

/** A token function: called with a TokenRequest, answers (a promise of) the token. */
export type TokenFunction<T> = (request: TokenRequest) => T | Promise<T>;

export interface KeyfaxClientConfig extends ClientConfigBase {
  /** The Keyfax application root, e.g. "https://host/Interview" (relative URLs resolve against the page). */
  baseUrl: string;
  /** The Keyfax host name of `Bearer {hostName}:{jwt}`. */
  hostName: string;
  /**
   * Gets a fresh JWT, typically from the broker's `GET /keyfax/token`: the JWT
   * string or an object with `token` (the broker's answer as is). Called at
   * first use, and again when Keyfax refuses the JWT (401) or it expired.
   */
  getToken: TokenFunction<string | { token: string }>;
  /**
   * What Keyfax speaks (by Accept and Content-Type): "json" (default) or
   * "xml". In XML, start-up data is XML text and every answer's data is XML
   * text, to parse with DOMParser if the page wants; the module reads only the
   * launch data and the renewed token.
   */
  format?: "json" | "xml";
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** What startup answers: Keyfax's launch data. */
export interface KeyfaxLaunch {
  guid: string;
  /** Open this URL (see launch). */
  launchUrl: string;
  company: string;
  /** The start-up data's returnUrl, when it had one. */
  returnUrl?: string;
  /** The whole startup answer. */
  data: unknown;
}

export type KeyfaxResults = { status: "pending" } | { status: "done"; data: unknown };

export interface KeyfaxClient {
  /** GET /api/v1/startup: Keyfax's example start-up data for its master configuration (XML text in format "xml"). */
  exampleStartup(options?: CallOptions): Promise<ClientResponse>;
  /**
   * POST /api/v1/startup with the start-up data (an object, sent as JSON, in
   * Keyfax's `{ mode: { value: "RD" }, company: { value: … }, returnUrl: { value: … } }`
   * form; or JSON text; in format "xml", XML text). Resolves to the launch data.
   */
  startup(startupData: object | string, options?: CallOptions): Promise<KeyfaxLaunch>;
  /** POST /api/v1/results once: 202 -> pending, 200 -> done with the results. */
  results(launch: { company?: string; guid: string }, options?: CallOptions): Promise<KeyfaxResults>;
  /**
   * Polls results until done. The interval starts at intervalMs (default 2000)
   * and grows by half each round up to maxIntervalMs (default 15000);
   * timeoutMs (default none) or the signal ends it with E_ABORTED.
   */
  waitForResults(
    launch: { company?: string; guid: string },
    options?: CallOptions & { intervalMs?: number; maxIntervalMs?: number; timeoutMs?: number },
  ): Promise<{ status: "done"; data: unknown }>;
  /**
   * Renews the JWT now: POST /api/v1/token with the current one (or a fresh
   * one from getToken if Keyfax refuses it). The client also renews on its
   * own, 5 minutes ahead of the JWT's exp, at its next request. The JWT stays
   * inside the module.
   */
  renew(options?: CallOptions): Promise<{ expiresAt: string }>;
  /**
   * Opens the launch URL in an iframe (default; inside `container`, default
   * document.body) or a popup, and resolves when Keyfax sends it back to the
   * return URL (same origin as the page, readable): `{ url, params }` with the
   * return URL's query parameters (Keyfax's status, company, guid). Without a
   * return URL (options or launch data), any readable page other than the
   * launch page counts. The frame is removed (unless keepFrame) and the popup
   * closed. A popup must be opened from a user gesture; a blocked or closed
   * popup rejects with E_ABORTED. Browser only (E_CONFIG elsewhere).
   */
  launch(
    launchData: { launchUrl: string; returnUrl?: string },
    options?: CallOptions & {
      target?: "iframe" | "popup";
      container?: Element | string;
      returnUrl?: string;
      features?: string;
      keepFrame?: boolean;
    },
  ): Promise<{ url: string; params: Record<string, string> }>;
  /** Frees the client's state (its JWT) in the module. */
  close(): void;
}

// ---- Fortis -----------------------------------------------------------------------

export interface FortisApi {
  /**
   * Fortis HMAC headers: developer-id, user-id, timestamp (Unix seconds) and
   * hash-key = hex(HMAC-SHA256(userHashKey, userId + timestamp)). Synchronous.
   * For runtimes that may hold the hash key, never a page. `timestamp` is a
   * TimeInput (default now): a number is epoch *milliseconds*, sent as Unix
   * seconds.
   */
  hmac(options: {
    developerId: string;
    userId: string;
    userHashKey: string;
    timestamp?: TimeInput;
    /** The request's path; with strict, checked against the six endpoints Fortis supports HMAC on. */
    path?: string;
    /** Refuse (E_INPUT) a path outside v2/accountform, accountvaults, payform, routeraccountvault, salestax, transactions. */
    strict?: boolean;
  }): {
    headers: { "developer-id": string; "user-id": string; timestamp: string; "hash-key": string };
    stringToSign: string;
  };
  /**
   * Fortis API-key credentials as headers, query parameters, or Basic
   * (default "headers"). For runtimes that may hold the API key, never a page.
   */
  apiKey(options: { developerId: string; userId: string; userApiKey: string; mode?: "headers" | "query" | "basic" }): {
    headers: Headers;
    query: Record<string, string>;
    /** The query parameters form-encoded, to append after "?" or "&". */
    queryString: string;
  };
  /** A client for the Fortis API with a session token from the broker, or an OAuth bearer token (mode "oauth"). */
  client(config: FortisClientConfig): FortisClient;
  /**
   * Fortis single sign-on: gets a one-time sign-in link through the broker
   * (`POST {brokerUrl}/fortis/sso`, which asks v2/contactsso with the broker's
   * credentials and `fields`) and opens it as KeyfaxClient.launch does, in an
   * iframe (default) or a popup. Resolves with `{ url, params }` when the
   * window comes back to returnUrl, or `{ closed: true }` when the popup is
   * closed or the page removes the frame (`[data-apisign="fortis"]`). Browser
   * only (E_CONFIG elsewhere, after the link was made).
   */
  sso(options: FortisSsoOptions): Promise<{ url: string; params: Record<string, string> } | { closed: true }>;
}

export interface FortisSsoOptions extends BrokerClientConfig, CallOptions {
  /** The contactsso fields (say, contact_id), sent as JSON. */
  fields?: object;
  target?: "iframe" | "popup";
  container?: Element | string;
  returnUrl?: string;
  features?: string;
}

export interface FortisClientConfig extends ClientConfigBase {
  /** The Fortis API root, e.g. "https://api.fortis.tech". */
  baseUrl: string;
  /**
   * "token" (default): access-token with a session token; "oauth":
   * `Authorization: Bearer` with an OAuth access token (and developer-id).
   */
  mode?: "token" | "oauth";
  /**
   * Token mode: gets a freshly opened session, typically the broker's `POST
   * /fortis/session` answer `{ token, developerId, expiresIn }`. Called at first
   * use, after 15 idle minutes, and once after a 401.
   * OAuth mode: gets an access token, `{ access_token, expires_in }` or the
   * string; again before it expires and once after a 401.
   */
  getToken: TokenFunction<string | { token: string; developerId?: string; expiresIn?: number } | { access_token: string; expires_in?: number }>;
  /** Sent as developer-id when getToken's answer has none. */
  developerId?: string;
  /** Ends a session through the broker (`DELETE /fortis/session/{token}`); default: DELETE /v2/token/{token} at Fortis. */
  closeToken?: (token: string, options: { signal: AbortSignal }) => unknown;
}

/** A client's answer: status, headers (lower-case names) and data (parsed JSON, text, bytes or null). */
export interface ClientResponse {
  status: number;
  headers: Headers;
  data: unknown;
}

export interface RequestOptions extends CallOptions {
  /** Content-Type of the body; default from the body's type (JSON for objects). */
  contentType?: string;
  /** Extra header fields (the authentication fields cannot be overridden). */
  headers?: Headers;
  /**
   * Query parameters, unencoded, appended to path: percent-encoded (a space as
   * %20, "+" as %2B); through the NFON client in NFON's encoding.
   */
  query?: QueryInput;
  /**
   * NFON client only: the request uploads an audio file whatever its
   * Content-Type (a multipart form, say), so the broker signs neither
   * Content-MD5 nor Content-Type (header X-Apisign-NFON-Audio: 1). Other clients: E_INPUT.
   */
  audio?: boolean;
}

/**
 * A request body: a plain object, array, number or boolean is sent as JSON;
 * URLSearchParams as a form; strings and bytes as they are.
 */
export type RequestBody = BodyInput | URLSearchParams | object | number | boolean | null;

export interface RequestClient {
  /**
   * Sends `method path` (path must start with "/", relative to the base URL).
   * Resolves for a 2xx answer; any other status rejects with E_HTTP (`status`,
   * `data`). 429 and 503 are retried first.
   */
  request(method: string, path: string, body?: RequestBody, options?: RequestOptions): Promise<ClientResponse>;
}

export interface FortisClient extends RequestClient {
  /** Ends the session and frees the client. */
  close(options?: CallOptions): Promise<void>;
}

// ---- Fonn -------------------------------------------------------------------------

export interface FonnApi {
  /**
   * Fonn's headers: Ocp-Apim-Subscription-Key, Authorization (the raw access
   * token) and impersonatedUserExternalId. For runtimes that may hold the
   * subscription key, never a page: pages call Fonn through the broker.
   */
  headers(options: { subscriptionKey: string; accessToken: string; impersonatedUserExternalId?: string }): { headers: Headers };
  /** A client for Fonn through the broker's forwarding route `{brokerUrl}/fonn/…`. */
  client(config: FonnClientConfig): BrokerClient;
}

export interface BrokerClientConfig extends ClientConfigBase {
  /** The broker's base URL, e.g. "https://site.example/broker" (relative URLs resolve against the page). */
  brokerUrl: string;
  /**
   * The caller token the embedding site's backend minted (X-Apisign-Caller):
   * a string, or a function that returns (a promise of) one, called per request.
   */
  callerToken: string | TokenFunction<string>;
}

export interface FonnClientConfig extends BrokerClientConfig {
  /** Sent as impersonatedUserExternalId unless a request sets its own header. */
  impersonatedUserExternalId?: string;
}

export interface BrokerClient extends RequestClient {
  /** Frees the client. */
  close(): void;
}

// ---- Ansira -----------------------------------------------------------------------

export interface AnsiraApi {
  /**
   * The token request (JWT bearer grant): POST to the token URL with Basic
   * client credentials and the form body. For runtimes that may hold the client
   * secret (the broker), never a page.
   */
  tokenRequest(options: { tokenUrl: string; clientId: string; clientSecret: string; assertion: string; scope?: string }): {
    url: string;
    method: "POST";
    headers: Headers;
    body: string;
  };
  /** A client for the Ansira API with an access token from the broker. */
  client(config: AnsiraClientConfig): AnsiraClient;
}

export interface AnsiraClientConfig extends ClientConfigBase {
  /** The Ansira API root. */
  baseUrl: string;
  /**
   * Gets an access token, typically the broker's `POST /ansira/token` answer
   * `{ access_token, expires_in }`; cached until a minute before it expires,
   * fetched again once after a 401 or 403.
   */
  getToken: TokenFunction<string | { access_token: string; expires_in?: number }>;
  /** Ansira's per-IP limit paces the client: "stage" 5 calls a second, "production" (default) 10; `rate` overrides. */
  environment?: "stage" | "production";
}

/** One page of a listing. */
export interface AnsiraPage extends ClientResponse {
  /** The page number (page=). */
  page: number;
  /** The page's records (see AnsiraPagesOptions.records). */
  records: unknown[];
}

export interface AnsiraPagesOptions extends CallOptions {
  /** filter=, as the document writes it: conditions joined by boolean operators, e.g. "status eq 'active' and budget gt 500". */
  filter?: string;
  /** order_by=, sort expressions written one after the other (["-budget", "+name"]). */
  orderBy?: string | string[];
  /** The first page (default 1). */
  page?: number;
  /** page_size= (required): a page shorter than this is the last. */
  pageSize: number;
  /** Reads a page's records from its data; default: data itself when an array, else data.data. */
  records?: (data: unknown) => unknown[];
}

export interface AnsiraClient extends RequestClient {
  /** GET path page by page with filter, order_by, page and page_size: `for await (const p of client.pages(...))`. */
  pages(path: string, options: AnsiraPagesOptions): AsyncGenerator<AnsiraPage, void, undefined>;
  /** Frees the client (its token). */
  close(): void;
}
