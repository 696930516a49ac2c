//! The shared state every handler sees (`App`) and how it is built from the
//! configuration: by the daemon (server.rs) and by CLI commands that run
//! without one (cli/target.rs).

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::auth::{CallbackAuth, Secret};
use crate::config::{Config, Load, SinchApi};
use crate::metrics::Metrics;
use crate::reconcile::Reconciler;
use crate::sinch_client::SinchClient;
use crate::slots::Slots;
use crate::store::Store;
use crate::throttle::Throttle;
use crate::webhooks::Deliveries;
use crate::writer::WriterHandle;

/// What every handler may use.
pub struct App {
    pub store: Arc<Store>,
    pub writer: WriterHandle,
    pub callback_auth: CallbackAuth,
    pub api_token: Option<Secret>,
    pub metrics: Metrics,
    /// Sinch API access for sending; None without credentials.
    pub sinch: Option<SinchClient>,
    pub reconciler: Option<Arc<Reconciler>>,
    /// This daemon's public base URL (default callback_url when sending).
    pub public_url: Option<String>,
    /// The sender when a send request names none (SINCH_DLR_DEFAULT_FROM).
    pub default_from: Option<String>,
    /// Messages without a final status after this long are stale.
    pub stale_after: Duration,
    /// Whether /metrics needs the API token.
    pub metrics_need_token: bool,
    /// The HTTP server, for its connection-layer counters (set once it
    /// listens; unset in CLI commands).
    pub edge: OnceLock<Weak<tiny_http::Server>>,
    /// Failed token guesses per client address (login and bearer).
    pub throttle: Throttle,
    /// Whether this daemon serves HTTPS itself (SINCH_DLR_TLS_*).
    pub tls: bool,
    /// Webhook delivery (set by the daemon; CLI commands only manage
    /// endpoints).
    pub deliveries: OnceLock<Arc<Deliveries>>,
    /// Open event streams and held long polls.
    pub streams: Slots,
    /// When callbacks are answered 429 rather than kept waiting.
    pub load: Load,
    /// /metrics' stale-message count and when it was worked out (it walks
    /// up to 100,000 index rows, and /metrics is open by default).
    pub stale_gauge: Mutex<Option<(Instant, usize)>>,
}

impl App {
    pub fn new(config: &Config, store: Arc<Store>, writer: WriterHandle) -> App {
        let metrics = Metrics::default();
        // One client: sending and reconciliation share its OAuth token.
        let client = config.sinch.as_ref().map(|api: &SinchApi| {
            SinchClient::new(api.clone(), config.sinch_limits, metrics.sinch.clone())
        });
        App {
            store,
            writer,
            callback_auth: config.callback_auth.clone(),
            api_token: config.api_token.clone(),
            reconciler: client.clone().map(|client| {
                let stats = metrics.sinch.clone();
                Arc::new(Reconciler::new(client, config.reconcile_after, stats))
            }),
            sinch: client,
            public_url: config.public_url.clone(),
            default_from: config.default_from.clone(),
            stale_after: config.stale_after,
            metrics_need_token: config.metrics_need_token,
            edge: OnceLock::new(),
            throttle: Throttle::default(),
            tls: config.tls.is_some(),
            deliveries: OnceLock::new(),
            streams: Slots::new(config.webhooks.max_streams),
            load: config.load,
            stale_gauge: Mutex::new(None),
            metrics,
        }
    }
}
