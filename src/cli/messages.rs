//! Reading messages: `messages`, `inbound`, `show`, `export`, `stats`. Through the
//! API, on the daemon or the file (target.rs picks).

use std::io::{IsTerminal, Read, Write};

use super::target::{Failure, reading};
use crate::config::Config;
use crate::format;
use crate::http::percent_encode;
use crate::store::{InboundPage, MessagePage, MessageView, StatsView};

fn query_string(params: &[(String, String)]) -> String {
    let pairs: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

pub fn messages(config: &Config, query: &[(String, String)], fmt: &str) -> Result<(), Failure> {
    let page: MessagePage = reading(config, |t| {
        t.call(
            "GET",
            &format!("/api/messages{}", query_string(query)),
            None,
        )?
        .view()
    })?;
    print!("{}", format::messages(&page, fmt)?);
    if let (Some(c), "table") = (page.next_cursor.as_deref(), fmt) {
        eprintln!("more: add --cursor {c}");
    }
    Ok(())
}

pub fn inbound(config: &Config, query: &[(String, String)], fmt: &str) -> Result<(), Failure> {
    let page: InboundPage = reading(config, |t| {
        t.call("GET", &format!("/api/inbound{}", query_string(query)), None)?
            .view()
    })?;
    print!("{}", format::inbound(&page, fmt)?);
    if let (Some(c), "table") = (page.next_cursor.as_deref(), fmt) {
        eprintln!("more: add --cursor {c}");
    }
    Ok(())
}

pub fn show(config: &Config, id: &str, fmt: &str) -> Result<(), Failure> {
    let m: MessageView = reading(config, |t| {
        t.call(
            "GET",
            &format!("/api/messages/{}", percent_encode(id)),
            None,
        )?
        .view()
    })?;
    print!("{}", format::message(&m, fmt)?);
    Ok(())
}

pub fn stats(config: &Config, since: Option<&str>, fmt: &str) -> Result<(), Failure> {
    let path = match since {
        Some(s) => format!("/api/stats?since={}", percent_encode(s)),
        None => "/api/stats".into(),
    };
    let s: StatsView = reading(config, |t| t.call("GET", &path, None)?.view())?;
    print!("{}", format::stats(&s, fmt)?);
    Ok(())
}

/// Streams the export to stdout; progress on stderr when it is a terminal.
pub fn export(config: &Config, query: &[(String, String)], fmt: &str) -> Result<(), Failure> {
    let mut params = vec![("format".to_string(), fmt.to_string())];
    params.extend_from_slice(query);
    reading(config, |t| {
        let body = t
            .call(
                "GET",
                &format!("/api/export{}", query_string(&params)),
                None,
            )?
            .stream()?;
        Ok(copy_with_progress(body, &mut std::io::stdout().lock())?)
    })
}

fn copy_with_progress(mut from: Box<dyn Read + Send>, to: &mut impl Write) -> Result<(), String> {
    let progress = std::io::stderr().is_terminal();
    let (mut buf, mut lines, mut next_report) = (vec![0u8; 64 * 1024], 0usize, 10_000usize);
    loop {
        let n = from.read(&mut buf).map_err(|e| format!("export: {e}"))?;
        if n == 0 {
            break;
        }
        to.write_all(&buf[..n])
            .map_err(|e| format!("writing the export: {e}"))?;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        if progress && lines >= next_report {
            eprint!("\rexported {lines} lines");
            next_report += 10_000;
        }
    }
    if progress {
        eprintln!("\rexported {lines} lines");
    }
    to.flush().map_err(|e| e.to_string())
}
