//! Cross-site request check for the dashboard's POSTs (login, logout).
//!
//! SameSite=Strict keeps the cookie off other sites' requests, but a
//! cross-site form could still log a user out or submit guesses. Every
//! dashboard POST must name this dashboard as its origin: the `Origin`
//! header, or when a browser sends none, the origin of `Referer`. It must
//! match the request's `Host` (host and port; the scheme is not known
//! behind a TLS proxy) or SINCH_DLR_PUBLIC_URL's origin (for a proxy that
//! rewrites `Host`). `Origin: null` (sandboxed or privacy-hidden origins)
//! and a POST naming no origin at all are refused: browsers send `Origin`
//! with every POST, and non-browser clients use the API with the token.

use crate::http::Request;

/// Whether this POST comes from the dashboard's own pages.
pub fn same_origin(req: &Request, public_url: Option<&str>) -> bool {
    let claimed = match req.headers.get("origin") {
        Some(origin) => origin,
        None => match req.headers.get("referer") {
            Some(referer) => referer,
            None => return false,
        },
    };
    let Some((scheme, authority)) = split_origin(claimed) else {
        return false;
    };
    let host_matches = req
        .headers
        .get("host")
        .is_some_and(|host| normalise(scheme, host) == normalise(scheme, authority));
    let public_matches = public_url.and_then(split_origin).is_some_and(|(s, a)| {
        s.eq_ignore_ascii_case(scheme) && normalise(s, a) == normalise(scheme, authority)
    });
    host_matches || public_matches
}

/// `https://Host:8443/path?q` -> (`https`, `Host:8443`). None for anything
/// without an http(s) scheme and a non-empty authority (e.g. `null`).
fn split_origin(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    (!authority.is_empty() && !authority.contains('@')).then_some((scheme, authority))
}

/// Lower-case host[:port] without the scheme's default port.
fn normalise(scheme: &str, authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    let default = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    a.strip_suffix(default).map_or(a.clone(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Headers;

    fn post(headers: &[(&str, &str)]) -> Request {
        Request {
            method: "POST".into(),
            headers: Headers::from_pairs(
                headers.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            ),
            ..Request::default()
        }
    }

    #[test]
    fn origin_or_referer_must_name_this_dashboard() {
        let host = ("Host", "127.0.0.1:8911");
        let ok = |h: &[(&str, &str)], public: Option<&str>| same_origin(&post(h), public);
        assert!(ok(&[host, ("Origin", "http://127.0.0.1:8911")], None));
        assert!(ok(
            &[host, ("Referer", "http://127.0.0.1:8911/ui/login?x")],
            None
        ));
        assert!(!ok(&[host, ("Origin", "http://evil.example")], None));
        assert!(!ok(&[host, ("Origin", "null")], None));
        assert!(!ok(&[host, ("Origin", "http://127.0.0.1:8912")], None));
        assert!(!ok(
            &[host, ("Referer", "http://evil.example/127.0.0.1:8911")],
            None
        ));
        assert!(!ok(
            &[host, ("Origin", "http://127.0.0.1:8911@evil.example")],
            None
        ));
        assert!(!ok(&[host], None), "no origin at all");
        assert!(
            !ok(
                &[
                    host,
                    ("Origin", "http://evil.example"),
                    ("Referer", "http://127.0.0.1:8911/")
                ],
                None
            ),
            "Origin wins over Referer"
        );
        let public = Some("https://DLR.example.com:443/");
        let proxied = [
            ("Host", "127.0.0.1:8911"),
            ("Origin", "https://dlr.example.com"),
        ];
        assert!(ok(&proxied, public));
        assert!(!ok(&proxied, None));
        let http_origin = [
            ("Host", "127.0.0.1:8911"),
            ("Origin", "http://dlr.example.com"),
        ];
        assert!(
            !ok(&http_origin, public),
            "scheme must match the public URL"
        );
    }
}
