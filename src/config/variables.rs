//! THE list of variables sinch-dlr reads. `--help`, the parser (which can
//! read no other name), `check-config` (a row each, in this order), the
//! README's configuration tables and `systemd/sinch-dlr.env.example` all
//! follow it; tests fail when one of them drifts.

/// One variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    /// The default the parser uses and the documentation states. None:
    /// unset, or a default that depends on other settings (`help` says).
    pub default: Option<&'static str>,
    /// One line for `--help`.
    pub help: &'static str,
    /// Other names read for the same setting (the Sinch tutorial's).
    pub aliases: &'static [&'static str],
    /// May instead come from `NAME_FILE` or a systemd credential `NAME`.
    pub secret: bool,
}

const fn var(name: &'static str, default: Option<&'static str>, help: &'static str) -> Variable {
    Variable {
        name,
        default,
        help,
        aliases: &[],
        secret: false,
    }
}

const fn secret(name: &'static str, help: &'static str) -> Variable {
    Variable {
        secret: true,
        ..var(name, None, help)
    }
}

const fn aka(v: Variable, aliases: &'static [&'static str]) -> Variable {
    Variable { aliases, ..v }
}

pub const VARIABLES: &[Variable] = &[
    var(
        "SINCH_DLR_LISTEN",
        Some("127.0.0.1:8911"),
        "address to listen on",
    ),
    aka(
        var(
            "SINCH_DLR_DB",
            Some("sinch-dlr.redb"),
            "redb file; DATABASE_URL=file:./x.db also works",
        ),
        &["DATABASE_URL"],
    ),
    secret(
        "SINCH_DLR_API_TOKEN",
        "bearer token for /api/* (unset: those endpoints answer 403)",
    ),
    var(
        "SINCH_DLR_CALLBACK_AUTH",
        None,
        "comma list of hmac, basic, header, legacy, or none (default hmac, plus basic and header when set)",
    ),
    secret(
        "SINCH_DLR_CALLBACK_SECRETS",
        "comma-separated HMAC secrets, newest first (unset: one is generated)",
    ),
    secret(
        "SINCH_WEBHOOK_SECRET",
        "the tutorial's name for a callback secret; added to SINCH_DLR_CALLBACK_SECRETS",
    ),
    secret(
        "SINCH_DLR_CALLBACK_BASIC",
        "user:password Sinch puts in the callback URL",
    ),
    secret(
        "SINCH_DLR_CALLBACK_HEADER",
        "\"Name: value\" of a custom header Sinch adds to every callback",
    ),
    var(
        "SINCH_DLR_CALLBACK_MAX_AGE",
        None,
        "opt-in: refuse HMAC timestamps older/newer than this many seconds",
    ),
    var(
        "SINCH_DLR_MAX_BODY",
        Some("65536"),
        "largest accepted request body in bytes",
    ),
    var("SINCH_DLR_WORKERS", Some("64"), "request worker threads"),
    var(
        "SINCH_DLR_CALLBACK_MAX_WAIT",
        Some("2"),
        "seconds a callback may wait for a worker or the store's commit, beyond: 429 + Retry-After",
    ),
    var(
        "SINCH_DLR_TEST_COMMIT_DELAY",
        None,
        "for tests only: seconds added to every commit, to fake an overloaded store",
    ),
    var(
        "SINCH_DLR_IO_TIMEOUT",
        Some("30"),
        "seconds one write of an answer may block on a client that does not read",
    ),
    var(
        "SINCH_DLR_MAX_CONNECTIONS",
        Some("1024"),
        "connections open at once; when full the longest-waiting idle or slow one makes room, else 503",
    ),
    var(
        "SINCH_DLR_MAX_CONNECTIONS_PER_CLIENT",
        Some("256"),
        "connections open at once from one IP address, beyond: 429 (0 = no limit, e.g. behind a proxy)",
    ),
    var(
        "SINCH_DLR_SEND_BUFFER",
        Some("131072"),
        "bytes of answers the kernel may hold for one connection (SO_SNDBUF): bounds what a client that does not read costs",
    ),
    var(
        "SINCH_DLR_HEAD_TIMEOUT",
        Some("10"),
        "seconds from a request's first byte to the end of its headers, beyond: 408",
    ),
    var(
        "SINCH_DLR_BODY_TIMEOUT",
        Some("30"),
        "seconds from the end of the headers to the end of the body, beyond: 408",
    ),
    var(
        "SINCH_DLR_IDLE_TIMEOUT",
        Some("60"),
        "seconds a kept-alive connection may wait for its next request",
    ),
    var(
        "SINCH_DLR_MAX_URL",
        Some("8192"),
        "longest request URL in bytes, beyond: 414",
    ),
    var(
        "SINCH_DLR_MAX_HEADER_LINE",
        Some("16384"),
        "longest header line in bytes, beyond: 431",
    ),
    var(
        "SINCH_DLR_MAX_HEAD",
        Some("65536"),
        "largest request head (request line + headers) in bytes, beyond: 431",
    ),
    var(
        "SINCH_DLR_MAX_HEADERS",
        Some("100"),
        "most header lines in one request, beyond: 431",
    ),
    var(
        "SINCH_DLR_TLS_CERT",
        None,
        "PEM certificate chain: serve HTTPS directly (with SINCH_DLR_TLS_KEY)",
    ),
    var(
        "SINCH_DLR_TLS_KEY",
        None,
        "PEM private key for SINCH_DLR_TLS_CERT (must not be writable by group or others)",
    ),
    var(
        "SINCH_SERVICE_PLAN_ID",
        None,
        "Sinch service plan id (for sending and reconciliation)",
    ),
    secret("SINCH_API_TOKEN", "Sinch API token of that service plan"),
    var(
        "SINCH_PROJECT_ID",
        None,
        "Sinch project id: with SINCH_KEY_ID + SINCH_KEY_SECRET instead of a service plan (OAuth2; us and eu only)",
    ),
    var("SINCH_KEY_ID", None, "Sinch project access key id"),
    secret("SINCH_KEY_SECRET", "Sinch project access key secret"),
    var(
        "SINCH_REGION",
        Some("us"),
        "Sinch region: us, eu, au, br, ca",
    ),
    var(
        "SINCH_API_BASE_URL",
        None,
        "override the Sinch API base URL (tests, proxies)",
    ),
    var(
        "SINCH_AUTH_BASE_URL",
        None,
        "override the base URL of Sinch's OAuth2 token service (tests, proxies)",
    ),
    var(
        "SINCH_API_TIMEOUT",
        Some("15"),
        "seconds one Sinch API request may take",
    ),
    var(
        "SINCH_API_RETRY_FOR",
        Some("30"),
        "seconds to keep retrying Sinch 429/5xx answers",
    ),
    var(
        "SINCH_DLR_PUBLIC_URL",
        None,
        "public base URL of this daemon; default callback_url when sending",
    ),
    var(
        "SINCH_DLR_DEFAULT_FROM",
        None,
        "sender (from) for sending when the request names none",
    ),
    var(
        "SINCH_DLR_RECONCILE_AFTER",
        Some("7200"),
        "seconds before a message without final status is reconciled",
    ),
    var(
        "SINCH_DLR_RECONCILE_INTERVAL",
        Some("300"),
        "seconds between reconciliation passes (0 = off)",
    ),
    var(
        "SINCH_DLR_STALE_AFTER",
        Some("24"),
        "hours after which a message without final status is stale",
    ),
    var(
        "SINCH_DLR_RETENTION_DAYS",
        None,
        "delete records older than this many days (unset: keep forever)",
    ),
    var(
        "SINCH_DLR_PRUNE_INTERVAL",
        Some("600"),
        "seconds between retention passes",
    ),
    var(
        "SINCH_DLR_WEBHOOK_URL",
        None,
        "push every event to this URL (Standard Webhooks); more endpoints: /api/endpoints",
    ),
    secret(
        "SINCH_DLR_WEBHOOK_SECRET",
        "signing secret of SINCH_DLR_WEBHOOK_URL: whsec_ + base64 of 24-64 random bytes",
    ),
    var(
        "SINCH_DLR_WEBHOOK_TIMEOUT",
        Some("15"),
        "seconds a webhook receiver may take to answer; beyond: a failed attempt",
    ),
    var(
        "SINCH_DLR_WEBHOOK_RETRY_SCHEDULE",
        Some("0,5,300,1800,7200,18000,36000,50400,72000,86400"),
        "seconds before each attempt at one event; when it runs out the endpoint is failing",
    ),
    var(
        "SINCH_DLR_MAX_STREAMS",
        Some("32"),
        "event streams and held long polls open at once; beyond: 503 (stream), at once (poll)",
    ),
    var(
        "SINCH_DLR_METRICS_AUTH",
        Some("none"),
        "none or token: whether /metrics needs the API token",
    ),
    aka(
        var(
            "LOG_LEVEL",
            Some("info"),
            "error, warn, info, debug, trace; RUST_LOG also works",
        ),
        &["RUST_LOG"],
    ),
];

/// The entry for `name` (a name or an alias). Reading a variable that is
/// not in the list is a bug: this panics, so any test that reaches the
/// read fails.
pub fn variable(name: &str) -> &'static Variable {
    VARIABLES
        .iter()
        .find(|v| v.name == name || v.aliases.contains(&name))
        .unwrap_or_else(|| panic!("{name} is read but not in config::VARIABLES"))
}

/// The default of a variable that has one.
pub fn default_of(name: &str) -> &'static str {
    variable(name)
        .default
        .unwrap_or_else(|| panic!("{name} has no default in config::VARIABLES"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_aliases_are_explained() {
        let mut names: Vec<&str> = VARIABLES
            .iter()
            .flat_map(|v| std::iter::once(v.name).chain(v.aliases.iter().copied()))
            .collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all, "a name is listed twice");
        for v in VARIABLES {
            for a in v.aliases {
                assert!(v.help.contains(a), "{}'s help does not name {a}", v.name);
            }
        }
    }

    #[test]
    #[should_panic(expected = "not in config::VARIABLES")]
    fn an_unlisted_variable_cannot_be_read() {
        variable("SINCH_DLR_NOT_A_SETTING");
    }
}
