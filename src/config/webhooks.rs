//! Pushing events: the endpoint from configuration, how long a receiver
//! may take, the retry schedule, and how many live streams may be open.

use std::time::Duration;

use super::reader::Reader;
use crate::signing;

#[derive(Debug, Clone)]
pub struct Webhooks {
    /// SINCH_DLR_WEBHOOK_URL and its secret.
    pub endpoint: Option<(String, String)>,
    pub timeout: Duration,
    /// The wait before each attempt at one event (the first is usually 0).
    pub schedule: Vec<Duration>,
    pub max_streams: usize,
}

pub(super) fn read(r: &mut Reader) -> Webhooks {
    let secret = r.secret("SINCH_DLR_WEBHOOK_SECRET");
    let url = r.get("SINCH_DLR_WEBHOOK_URL").map(str::to_string);
    Webhooks {
        endpoint: endpoint(r, url, secret),
        timeout: r.positive_seconds("SINCH_DLR_WEBHOOK_TIMEOUT"),
        schedule: schedule(r),
        max_streams: r.number_or_default("SINCH_DLR_MAX_STREAMS") as usize,
    }
}

fn endpoint(
    r: &mut Reader,
    url: Option<String>,
    secret: Option<String>,
) -> Option<(String, String)> {
    match (url, secret) {
        (None, None) => None,
        (None, Some(_)) => {
            r.problem("SINCH_DLR_WEBHOOK_SECRET is set but SINCH_DLR_WEBHOOK_URL is not");
            None
        }
        (Some(_), None) => {
            r.problem(
                "SINCH_DLR_WEBHOOK_URL needs SINCH_DLR_WEBHOOK_SECRET: whsec_ followed by the output of `openssl rand -base64 32`",
            );
            None
        }
        (Some(url), Some(secret)) => {
            let mut ok = true;
            if let Err(e) = check_url(&url) {
                r.problem(format!("SINCH_DLR_WEBHOOK_URL: {e}"));
                ok = false;
            }
            if let Err(e) = signing::key_of(&secret) {
                r.problem(format!("SINCH_DLR_WEBHOOK_SECRET: {e}"));
                ok = false;
            }
            ok.then_some((url, secret))
        }
    }
}

/// An endpoint URL: http(s), with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("has no host".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(())
}

/// A URL as pages and check-config show it: the userinfo, the query's
/// values (or a bare part) and the fragment replaced by `[set]` (all often
/// carry a receiver's token); scheme, host, path and query keys kept so it
/// is recognisable. A token in the path (`/hooks/T0K3N`) is shown.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (before_fragment, fragment) = rest
        .split_once('#')
        .map_or((rest, None), |(a, f)| (a, Some(f)));
    let (location, query) = before_fragment
        .split_once('?')
        .map_or((before_fragment, None), |(l, q)| (l, Some(q)));
    let host_end = location.find('/').unwrap_or(location.len());
    let location = match location[..host_end].rfind('@') {
        Some(at) => format!("[set]@{}", &location[at + 1..]),
        None => location.to_string(),
    };
    let mut out = format!("{scheme}://{location}");
    if let Some(q) = query {
        let keys: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) => format!("{k}=[set]"),
                None if pair.is_empty() => String::new(),
                // A bare part may be a token itself (`?s3cr3t`).
                None => "[set]".to_string(),
            })
            .collect();
        out += &format!("?{}", keys.join("&"));
    }
    if fragment.is_some() {
        out += "#[set]";
    }
    out
}

fn schedule(r: &mut Reader) -> Vec<Duration> {
    const NAME: &str = "SINCH_DLR_WEBHOOK_RETRY_SCHEDULE";
    let text = r.get_or_default(NAME);
    let parsed: Result<Vec<Duration>, _> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .map(|n| match n {
            Ok(n) if n.is_finite() && (0.0..=1e7).contains(&n) => Ok(Duration::from_secs_f64(n)),
            _ => Err(()),
        })
        .collect();
    parsed.unwrap_or_else(|()| {
        r.problem(format!(
            "{NAME}: {text:?} is not a comma-separated list of seconds"
        ));
        Vec::new()
    })
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn shown_urls_hide_userinfo_query_values_and_fragments() {
        assert_eq!(
            shown_url("https://user:pa55@hooks.example.com:8443/in?token=abc&x=1&flag"),
            "https://[set]@hooks.example.com:8443/in?token=[set]&x=[set]&[set]"
        );
        assert_eq!(
            shown_url("http://tok@host/p@th"),
            "http://[set]@host/p@th",
            "an @ in the path is not userinfo"
        );
        assert_eq!(
            shown_url("http://127.0.0.1:9000/hook"),
            "http://127.0.0.1:9000/hook"
        );
        assert_eq!(
            shown_url("http://a:b@h?q=s#frag"),
            "http://[set]@h?q=[set]#[set]"
        );
    }
}
