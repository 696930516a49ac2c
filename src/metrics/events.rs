//! The event log's and the webhook deliveries' families: the last seq, open
//! streams, and per endpoint its state, position, lag and attempts by
//! result. Endpoints are labelled by id only: a URL can carry credentials
//! and a secret never leaves creation and rotation answers.

use super::family;

/// One webhook endpoint's delivery, as plain values.
#[derive(Debug, Clone, Default)]
pub struct EndpointGauges {
    pub id: u64,
    /// Its state's wire name (one of `EventGauges::states`).
    pub state: &'static str,
    /// The last seq delivered.
    pub position: u64,
    pub lag_events: u64,
    pub lag_seconds: f64,
    /// Events delivered (a 2xx) since start.
    pub delivered: u64,
    /// Attempts that got no 2xx since start (each retry counts).
    pub failed: u64,
}

/// The event log and its consumers, as plain values.
#[derive(Debug, Clone, Default)]
pub struct EventGauges {
    /// The last seq committed (0: none yet).
    pub last_seq: u64,
    /// Event streams and held long polls open now, and their cap.
    pub streams_open: u64,
    pub streams_max: u64,
    /// Every state an endpoint can be in (each gets a 0/1 row).
    pub states: &'static [&'static str],
    pub endpoints: Vec<EndpointGauges>,
}

/// Appends the event log's and the webhook endpoints' families.
pub fn render_events(out: &mut String, e: &EventGauges) {
    let one = |n: u64| std::iter::once((String::new(), n));
    family(
        out,
        "sinch_dlr_events_last_seq",
        "gauge",
        "Seq of the last event committed to the log.",
        one(e.last_seq),
    );
    family(
        out,
        "sinch_dlr_event_streams_open",
        "gauge",
        "Event streams and held long polls open now.",
        one(e.streams_open),
    );
    family(
        out,
        "sinch_dlr_event_streams_max",
        "gauge",
        "Cap on open event streams and held long polls (SINCH_DLR_MAX_STREAMS).",
        one(e.streams_max),
    );
    render_endpoints(out, e);
}

fn render_endpoints(out: &mut String, e: &EventGauges) {
    let label = |g: &EndpointGauges| format!("endpoint=\"{}\"", g.id);
    let per = |f: fn(&EndpointGauges) -> u64| e.endpoints.iter().map(move |g| (label(g), f(g)));
    family(
        out,
        "sinch_dlr_webhook_endpoint_state",
        "gauge",
        "1 for the state each webhook endpoint is in (active, failing, disabled).",
        e.endpoints.iter().flat_map(|g| {
            e.states.iter().map(move |s| {
                let row = format!("{},state=\"{s}\"", label(g));
                (row, u64::from(*s == g.state))
            })
        }),
    );
    family(
        out,
        "sinch_dlr_webhook_deliveries_total",
        "counter",
        "Webhook delivery attempts since start, by endpoint and result (delivered = a 2xx; failed = anything else, each retry counted).",
        e.endpoints.iter().flat_map(|g| {
            [("delivered", g.delivered), ("failed", g.failed)]
                .map(|(result, n)| (format!("{},result=\"{result}\"", label(g)), n))
        }),
    );
    family(
        out,
        "sinch_dlr_webhook_position",
        "gauge",
        "Seq of the last event delivered to each webhook endpoint.",
        per(|g| g.position),
    );
    family(
        out,
        "sinch_dlr_webhook_lag_events",
        "gauge",
        "Events committed after each webhook endpoint's position.",
        per(|g| g.lag_events),
    );
    family(
        out,
        "sinch_dlr_webhook_lag_seconds",
        "gauge",
        "Age of the oldest event each webhook endpoint has not yet received (0 when caught up).",
        e.endpoints
            .iter()
            .map(|g| (label(g), (g.lag_seconds * 1000.0).round() / 1000.0)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> String {
        let e = EventGauges {
            last_seq: 42,
            streams_open: 2,
            streams_max: 16,
            states: &["active", "failing", "disabled"],
            endpoints: vec![
                EndpointGauges {
                    id: 1,
                    state: "active",
                    position: 40,
                    lag_events: 2,
                    lag_seconds: 1.5,
                    delivered: 40,
                    failed: 3,
                },
                EndpointGauges {
                    id: 7,
                    state: "failing",
                    position: 5,
                    lag_events: 37,
                    lag_seconds: 86_400.25,
                    delivered: 5,
                    failed: 10,
                },
            ],
        };
        let mut out = String::new();
        render_events(&mut out, &e);
        out
    }

    #[test]
    fn every_endpoint_has_its_rows_labelled_by_id() {
        let out = rendered();
        for line in [
            "sinch_dlr_events_last_seq 42\n",
            "sinch_dlr_event_streams_open 2\n",
            "sinch_dlr_event_streams_max 16\n",
            "sinch_dlr_webhook_endpoint_state{endpoint=\"1\",state=\"active\"} 1\n",
            "sinch_dlr_webhook_endpoint_state{endpoint=\"1\",state=\"failing\"} 0\n",
            "sinch_dlr_webhook_endpoint_state{endpoint=\"7\",state=\"failing\"} 1\n",
            "sinch_dlr_webhook_endpoint_state{endpoint=\"7\",state=\"disabled\"} 0\n",
            "sinch_dlr_webhook_deliveries_total{endpoint=\"1\",result=\"delivered\"} 40\n",
            "sinch_dlr_webhook_deliveries_total{endpoint=\"1\",result=\"failed\"} 3\n",
            "sinch_dlr_webhook_deliveries_total{endpoint=\"7\",result=\"failed\"} 10\n",
            "sinch_dlr_webhook_position{endpoint=\"7\"} 5\n",
            "sinch_dlr_webhook_lag_events{endpoint=\"7\"} 37\n",
            "sinch_dlr_webhook_lag_seconds{endpoint=\"1\"} 1.5\n",
            "sinch_dlr_webhook_lag_seconds{endpoint=\"7\"} 86400.25\n",
        ] {
            assert!(out.contains(line), "missing {line:?} in:\n{out}");
        }
    }

    #[test]
    fn each_family_is_declared_once_with_its_type() {
        let out = rendered();
        for (name, kind) in [
            ("sinch_dlr_webhook_deliveries_total", "counter"),
            ("sinch_dlr_webhook_lag_seconds", "gauge"),
            ("sinch_dlr_webhook_endpoint_state", "gauge"),
        ] {
            let declared = format!("# TYPE {name} {kind}\n");
            assert_eq!(out.matches(&declared).count(), 1, "{name}");
        }
    }

    #[test]
    fn without_endpoints_the_families_are_declared_but_empty() {
        let mut out = String::new();
        render_events(&mut out, &EventGauges::default());
        assert!(out.contains("# TYPE sinch_dlr_webhook_lag_events gauge\n"));
        assert!(!out.contains("endpoint=\""));
        assert!(out.contains("sinch_dlr_events_last_seq 0\n"));
    }
}
