# The broker Worker in workerd (the Workers runtime, from npm), the one way
# tests, benchmarks and users run it locally:
#
#   ./build.sh worker
#   mkdir -p wasm/broker/do-storage
#   cd wasm/broker && env $(cat my-broker.env) ../../node_modules/.bin/workerd serve workerd.capnp
#
# The modules are embedded from build/ beside this file (what ./build.sh worker
# writes). Configuration comes from the process environment (fromEnvironment):
# an unset variable is a null binding, which the Worker reads as unset.
# Durable Object storage is the directory do-storage/ (relative to the working
# directory; it must exist), one subdirectory per namespace. Outbound fetch
# may reach loopback and private addresses too ("local"; workerd's default
# "internet" service allows public ones only), so the local emulators work.
# The socket listens on 127.0.0.1:8787; tests pass their own with
# --socket-fd=http=<fd>.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "broker", worker = .broker),
    (name = "internet", network = (allow = ["public", "local"])),
    (name = "do-storage", disk = (path = "do-storage", writable = true)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "broker")],
);

const broker :Workerd.Worker = (
  modules = [
    # The entry (the first module): guard.mjs, in front of syumai's worker.mjs;
    # it also exports the state's Durable Object class, from state.mjs.
    (name = "guard.mjs", esModule = embed "build/guard.mjs"),
    (name = "state.mjs", esModule = embed "build/state.mjs"),
    (name = "worker.mjs", esModule = embed "build/worker.mjs"),
    (name = "wasm_exec.js", esModule = embed "build/wasm_exec.js"),
    (name = "runtime.mjs", esModule = embed "build/runtime.mjs"),
    (name = "app.wasm", wasm = embed "build/app.wasm"),
  ],
  # Matches wrangler.jsonc.
  compatibilityDate = "2026-04-01",
  durableObjectStorage = (localDisk = "do-storage"),
  # The deployment-wide state (Keyfax keys, single flights, rate limits):
  # class BrokerState of state.mjs, exported by entry.mjs.
  durableObjectNamespaces = [(className = "BrokerState", uniqueKey = "apisign-broker-state")],
  bindings = [
    (name = "BROKER_STATE", durableObjectNamespace = "BrokerState"),
    (name = "APISIGN_ADMIN_SECRET", fromEnvironment = "APISIGN_ADMIN_SECRET"),
    (name = "APISIGN_RATE_LIMIT", fromEnvironment = "APISIGN_RATE_LIMIT"),
    (name = "KEYFAX_WEBHOOK_SECRET", fromEnvironment = "KEYFAX_WEBHOOK_SECRET"),
    (name = "FORTIS_MAX_SESSIONS", fromEnvironment = "FORTIS_MAX_SESSIONS"),
    (name = "ANSIRA_REEXCHANGE_INTERVAL", fromEnvironment = "ANSIRA_REEXCHANGE_INTERVAL"),
    (name = "APISIGN_CALLER_SECRET", fromEnvironment = "APISIGN_CALLER_SECRET"),
    (name = "APISIGN_ALLOWED_ORIGINS", fromEnvironment = "APISIGN_ALLOWED_ORIGINS"),
    (name = "APISIGN_MAX_BODY", fromEnvironment = "APISIGN_MAX_BODY"),
    (name = "APISIGN_UPSTREAM_TIMEOUT", fromEnvironment = "APISIGN_UPSTREAM_TIMEOUT"),
    (name = "KEYFAX_BASE_URL", fromEnvironment = "KEYFAX_BASE_URL"),
    (name = "KEYFAX_HOST_NAME", fromEnvironment = "KEYFAX_HOST_NAME"),
    (name = "KEYFAX_API_KEY", fromEnvironment = "KEYFAX_API_KEY"),
    (name = "KEYFAX_SIGNING_KEY", fromEnvironment = "KEYFAX_SIGNING_KEY"),
    (name = "ANSIRA_TOKEN_URL", fromEnvironment = "ANSIRA_TOKEN_URL"),
    (name = "ANSIRA_CLIENT_ID", fromEnvironment = "ANSIRA_CLIENT_ID"),
    (name = "ANSIRA_CLIENT_SECRET", fromEnvironment = "ANSIRA_CLIENT_SECRET"),
    (name = "ANSIRA_ASSERTION", fromEnvironment = "ANSIRA_ASSERTION"),
    (name = "ANSIRA_SCOPE", fromEnvironment = "ANSIRA_SCOPE"),
    (name = "FORTIS_BASE_URL", fromEnvironment = "FORTIS_BASE_URL"),
    (name = "FORTIS_DEVELOPER_ID", fromEnvironment = "FORTIS_DEVELOPER_ID"),
    (name = "FORTIS_USERNAME", fromEnvironment = "FORTIS_USERNAME"),
    (name = "FORTIS_PASSWORD", fromEnvironment = "FORTIS_PASSWORD"),
    (name = "FORTIS_DOMAIN", fromEnvironment = "FORTIS_DOMAIN"),
    (name = "NFON_BASE_URL", fromEnvironment = "NFON_BASE_URL"),
    (name = "NFON_KEY_ID", fromEnvironment = "NFON_KEY_ID"),
    (name = "NFON_SECRET", fromEnvironment = "NFON_SECRET"),
    (name = "NFON_ALLOWED_PATHS", fromEnvironment = "NFON_ALLOWED_PATHS"),
    (name = "FONN_BASE_URL", fromEnvironment = "FONN_BASE_URL"),
    (name = "FONN_SUBSCRIPTION_KEY", fromEnvironment = "FONN_SUBSCRIPTION_KEY"),
    (name = "FONN_ACCESS_TOKEN", fromEnvironment = "FONN_ACCESS_TOKEN"),
    (name = "FONN_ALLOWED_PATHS", fromEnvironment = "FONN_ALLOWED_PATHS"),
    (name = "FONN_SUBSCRIPTION_KEY_SECONDARY", fromEnvironment = "FONN_SUBSCRIPTION_KEY_SECONDARY"),
    (name = "FONN_TOKEN_KIND", fromEnvironment = "FONN_TOKEN_KIND"),
  ],
);
