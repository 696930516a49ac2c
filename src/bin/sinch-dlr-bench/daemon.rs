//! The server under test as a child process: started on a free port,
//! its CPU, memory, context switches and group commits read per phase.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::proc;
use crate::verify::*;

/// What a phase cost the server: CPU seconds, peak RSS in bytes, and for
/// the daemon (commits, writes committed) from its /metrics.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    pub(crate) cpu: f64,
    pub(crate) rss: u64,
    pub(crate) context_switches: u64,
    pub(crate) commits: Option<(f64, f64)>,
}

/// The daemon's running totals of group commits and the writes in them;
/// None for a server without those metrics (the no-op baseline).
pub(crate) fn commit_totals(addr: SocketAddr) -> Option<(f64, f64)> {
    let (_, text) = get_text(addr, "/metrics").ok()?;
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
    };
    Some((
        value("sinch_dlr_commit_group_size_count ")?,
        value("sinch_dlr_commit_group_size_sum ")?,
    ))
}

/// A server child process (the daemon or the no-op baseline).
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) last: Usage,
}

impl Server {
    pub(crate) fn spawn(
        exe: &Path,
        args: &[&str],
        dir: &Path,
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        let mut child = Command::new(exe)
            .args(args)
            .current_dir(dir)
            .env_clear()
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(rest) = l.strip_prefix("listening on ") {
                        let a = rest.split(' ').next().unwrap_or_default();
                        break a.parse().map_err(|_| format!("bad address {a}"))?;
                    }
                }
                _ => return Err(format!("{} exited before listening", exe.display())),
            }
        };
        Ok(Server {
            child,
            addr,
            last: Usage::default(),
        })
    }

    /// CPU and commits since the last call, and peak RSS so far.
    pub(crate) fn take_usage(&mut self) -> Usage {
        let (cpu, rss, context_switches) = proc::usage(self.child.id());
        let now = Usage {
            cpu,
            rss,
            context_switches,
            commits: commit_totals(self.addr),
        };
        let (c0, w0) = self.last.commits.unwrap_or_default();
        let since = Usage {
            cpu: cpu - self.last.cpu,
            rss,
            context_switches: context_switches.saturating_sub(self.last.context_switches),
            commits: now.commits.map(|(c, w)| (c - c0, w - w0)),
        };
        self.last = now;
        since
    }

    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

pub(crate) fn sibling(name: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = me.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found; build it first (cargo build --release)",
            path.display()
        ))
    }
}

/// `--daemon PATH`, else the sinch-dlr built next to this benchmark.
pub(crate) fn daemon_exe(given: Option<&Path>) -> Result<PathBuf, String> {
    match given {
        Some(path) if path.exists() => Ok(path.to_path_buf()),
        Some(path) => Err(format!("--daemon {}: no such file", path.display())),
        None => sibling("sinch-dlr"),
    }
}

pub(crate) fn bench_exe() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| e.to_string())
}

/// The baseline: tiny_http answering every request with a fixed 200, on
/// as many worker threads as the daemon uses.
pub(crate) fn serve_noop() {
    let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
    println!("listening on {}", server.server_addr());
    let workers: Vec<_> = (0..64)
        .map(|_| {
            let server = server.clone();
            std::thread::spawn(move || {
                while let Ok(rq) = server.recv() {
                    let header =
                        tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap();
                    let _ = rq.respond(
                        tiny_http::Response::from_data(&b"{\"result\":\"stored\"}"[..])
                            .with_header(header),
                    );
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

pub(crate) fn wait_ready(addr: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if get(addr, "/readyz").is_ok_and(|(s, _)| s == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err("daemon never became ready".into())
}
