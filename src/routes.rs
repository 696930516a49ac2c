//! The one route table: every path the daemon answers, the methods it
//! takes, who may call it (the gate) and the handler. A known path with
//! another method is a 405 naming the methods from this same table.
//!
//! To add a route: a handler `fn(&App, &Request, &[&str]) -> Result<Reply,
//! ApiError>` in api/ (or dashboard/), and one line below. `{name}` in a
//! path takes one segment, passed to the handler in order; `{*}` takes the
//! rest.

use crate::access;
use crate::api::{
    batches, callbacks, endpoints, events, feedback, health, inbound, messages, quarantine,
    reconcile, whole_store,
};
use crate::app::App;
use crate::dashboard::{self, lists, pages};
use crate::http::{ApiError, Reply, Request};

type Handler = fn(&App, &Request, &[&str]) -> Result<Reply, ApiError>;

/// Who may call a route.
#[derive(Clone, Copy)]
enum Gate {
    /// Anyone (Sinch's callbacks authenticate themselves; health probes).
    Open,
    /// The API token (`Authorization: Bearer`).
    Token,
    /// The API token when SINCH_DLR_METRICS_AUTH=token.
    Metrics,
    /// A dashboard session or the API token; else the login page.
    Dashboard,
    /// A form posted from the dashboard's own origin.
    SameOrigin,
}

struct Route {
    methods: &'static [&'static str],
    path: &'static str,
    gate: Gate,
    handler: Handler,
}

const fn route(
    methods: &'static [&'static str],
    path: &'static str,
    gate: Gate,
    handler: Handler,
) -> Route {
    Route {
        methods,
        path,
        gate,
        handler,
    }
}

/// Sinch's callbacks: the one path answered 429 when the daemon is behind.
const CALLBACKS: &str = "/api/sinchCallbacks";

const GET: &[&str] = &["GET"];
const GET_HEAD: &[&str] = &["GET", "HEAD"];
const POST: &[&str] = &["POST"];
const PATCH: &[&str] = &["PATCH"];
const DELETE: &[&str] = &["DELETE"];

use Gate::*;

const ROUTES: &[Route] = &[
    // Sinch
    route(POST, CALLBACKS, Open, callbacks::receive),
    // systemd and monitoring
    route(GET_HEAD, "/healthz", Open, health::live),
    route(GET_HEAD, "/readyz", Open, health::ready),
    route(GET_HEAD, "/metrics", Metrics, health::metrics),
    // the application and operators
    route(GET, "/api/events", Token, events::list),
    route(GET, "/api/events/stream", Token, events::stream),
    route(POST, "/api/endpoints", Token, endpoints::create),
    route(GET, "/api/endpoints", Token, endpoints::list),
    route(GET, "/api/endpoints/{id}", Token, endpoints::one),
    route(PATCH, "/api/endpoints/{id}", Token, endpoints::edit),
    route(DELETE, "/api/endpoints/{id}", Token, endpoints::delete),
    route(POST, "/api/endpoints/{id}/replay", Token, endpoints::replay),
    route(
        POST,
        "/api/endpoints/{id}/rotate-secret",
        Token,
        endpoints::rotate,
    ),
    route(POST, "/api/messages", Token, messages::register),
    route(GET, "/api/messages", Token, messages::list),
    route(POST, "/api/messages/send", Token, messages::send),
    route(GET, "/api/messages/{id}", Token, messages::one),
    route(GET, "/api/batches/{batch_id}", Token, batches::one),
    route(
        POST,
        "/api/messages/{id}/feedback",
        Token,
        feedback::message,
    ),
    route(
        POST,
        "/api/batches/{batch_id}/feedback",
        Token,
        feedback::batch,
    ),
    route(GET, "/api/inbound", Token, inbound::list),
    route(GET, "/api/inbound/{id}", Token, inbound::one),
    route(GET, "/api/quarantine", Token, quarantine::list),
    route(POST, "/api/quarantine/{id}/retry", Token, quarantine::retry),
    route(POST, "/api/reconcile", Token, reconcile::now),
    route(GET, "/api/stats", Token, whole_store::stats),
    route(GET, "/api/export", Token, whole_store::export),
    route(GET, "/api/backup", Token, whole_store::backup),
    // the dashboard
    route(GET, "/ui/login", Open, dashboard::login_page),
    route(POST, "/ui/login", SameOrigin, dashboard::login),
    route(POST, "/ui/logout", SameOrigin, dashboard::logout),
    route(GET, "/", Dashboard, pages::overview),
    route(GET, "/ui/search", Dashboard, lists::search),
    route(GET, "/ui/messages", Dashboard, lists::messages),
    route(GET, "/ui/inbound", Dashboard, lists::inbound),
    route(GET, "/ui/messages/{id}", Dashboard, pages::message),
    route(GET, "/ui/batches/{batch_id}", Dashboard, pages::batch),
    route(GET, "/ui/endpoints", Dashboard, dashboard::endpoints::list),
    route(GET, "/ui/{*}", Dashboard, pages::not_found),
];

/// Answers one request from the table.
pub fn handle(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let segments = req.segments();
    let path: Vec<&str> = segments.iter().map(String::as_str).collect();
    let mut allowed: Vec<&str> = Vec::new();
    for route in ROUTES {
        let Some(params) = matches(route.path, &path) else {
            continue;
        };
        if !route.methods.contains(&req.method.as_str()) {
            for m in route.methods {
                if !allowed.contains(m) {
                    allowed.push(m);
                }
            }
            continue;
        }
        if let Some(refused) = pass(route.gate, app, req)? {
            return Ok(refused);
        }
        return (route.handler)(app, req, &params);
    }
    // Under /api, strangers learn nothing, not even which paths exist.
    if path.first() == Some(&"api") && path != ["api", "sinchCallbacks"] {
        access::require_token(app, req)?;
    }
    match allowed.is_empty() {
        true => Err(ApiError::NotFound),
        false => Err(ApiError::MethodNotAllowed(allowed.join(", "))),
    }
}

/// Whether a request is one that is answered 429 rather than kept waiting
/// when every worker is busy: Sinch's callbacks (Sinch retries them later
/// and slows down; anyone else may as well wait).
pub fn sheds_load(method: &str, path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    method == "POST" && matches(CALLBACKS, &segments).is_some()
}

/// The path's parameters when `pattern` matches it.
fn matches<'a>(pattern: &str, path: &[&'a str]) -> Option<Vec<&'a str>> {
    let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let mut params = Vec::new();
    for (i, want) in pattern.iter().enumerate() {
        if *want == "{*}" {
            return (path.len() > i).then_some(params);
        }
        let got = path.get(i)?;
        if want.starts_with('{') {
            params.push(*got);
        } else if want != got {
            return None;
        }
    }
    (path.len() == pattern.len()).then_some(params)
}

/// `Ok(None)` to go on; `Ok(Some(reply))` answers instead of the handler.
fn pass(gate: Gate, app: &App, req: &Request) -> Result<Option<Reply>, ApiError> {
    match gate {
        Open => Ok(None),
        Token => access::require_token(app, req).map(|()| None),
        Metrics if app.metrics_need_token => access::require_token(app, req).map(|()| None),
        Metrics => Ok(None),
        Dashboard => Ok(dashboard::authorised(app, req).err()),
        SameOrigin => Ok(dashboard::same_origin(app, req).err()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_take_parameters_and_rests() {
        assert_eq!(
            matches("/api/messages/{id}", &["api", "messages", "7"]),
            Some(vec!["7"])
        );
        assert_eq!(matches("/api/messages/{id}", &["api", "messages"]), None);
        assert_eq!(matches("/", &[]), Some(vec![]));
        assert_eq!(matches("/ui/{*}", &["ui", "x", "y"]), Some(vec![]));
        assert_eq!(matches("/ui/{*}", &["ui"]), None);
    }

    #[test]
    fn only_callbacks_shed_load() {
        assert!(sheds_load("POST", "/api/sinchCallbacks"));
        assert!(sheds_load("POST", "//api/sinchCallbacks/"));
        assert!(!sheds_load("GET", "/api/sinchCallbacks"));
        assert!(!sheds_load("POST", "/api/messages"));
    }

    #[test]
    fn every_route_is_reachable() {
        // No route is hidden behind an earlier one with the same methods.
        for (i, r) in ROUTES.iter().enumerate() {
            let path: Vec<&str> = r
                .path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| if s.starts_with('{') { "x" } else { s })
                .collect();
            let first = ROUTES
                .iter()
                .position(|o| {
                    matches(o.path, &path).is_some()
                        && o.methods.iter().any(|m| r.methods.contains(m))
                })
                .unwrap();
            assert_eq!(first, i, "{} is shadowed", r.path);
        }
    }

    /// The README's API table names every route of the table (method and
    /// path), so an operator can find each one.
    #[test]
    fn the_readme_api_table_lists_every_route() {
        let readme = include_str!("../README.md");
        let rows: Vec<&str> = readme
            .lines()
            .skip_while(|l| *l != "## HTTP API")
            .take_while(|l| !l.starts_with("### "))
            .filter(|l| l.starts_with("| `"))
            .collect();
        for route in ROUTES {
            let method = route.methods[0];
            let named = |row: &&str| {
                row.split('`').skip(1).step_by(2).any(|code| {
                    let rest = code.strip_prefix(&format!("{method} {}", route.path));
                    rest.is_some_and(|r| r.is_empty() || r.starts_with(['[', '?']))
                })
            };
            assert!(
                rows.iter().any(named),
                "README's API table has no row for {method} {}",
                route.path
            );
        }
    }
}
