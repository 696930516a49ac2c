//! The few lines of systemd integration, without libsystemd:
//! * `Type=notify`: `READY=1` once listening with the store open,
//!   `STOPPING=1` on shutdown, `WATCHDOG=1` pings when `WatchdogSec` is set
//!   (datagrams to `$NOTIFY_SOCKET`, a path or an `@abstract` name);
//! * socket activation: a listening socket passed as fd 3
//!   (`LISTEN_FDS`/`LISTEN_PID`), so the port may be privileged or shared
//!   and connections wait in its backlog across restarts.
//!
//! See: sd_notify(3), sd_listen_fds(3).

use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Where notifications go; does nothing when not run by systemd.
pub struct Notifier {
    target: Option<String>,
}

impl Notifier {
    pub fn from_env() -> Notifier {
        Notifier {
            target: std::env::var("NOTIFY_SOCKET")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one notification (e.g. `READY=1`); failures are logged only.
    pub fn notify(&self, message: &str) {
        let Some(target) = &self.target else { return };
        if let Err(e) = send(target, message) {
            log::warn!("systemd notification {message:?} to {target}: {e}");
        }
    }
}

fn send(target: &str, message: &str) -> std::io::Result<usize> {
    let socket = UnixDatagram::unbound()?;
    match target.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            socket.send_to_addr(message.as_bytes(), &addr)
        }
        None => socket.send_to(message.as_bytes(), target),
    }
}

/// Half the watchdog interval systemd expects pings within, if it expects
/// them from this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// The listening socket systemd passed, if any (the first of `LISTEN_FDS`).
pub fn activated_listener() -> Result<Option<TcpListener>, String> {
    let fds: u32 = match std::env::var("LISTEN_FDS") {
        Ok(n) => n
            .parse()
            .map_err(|_| format!("LISTEN_FDS={n:?} is not a number"))?,
        Err(_) => return Ok(None),
    };
    let pid_matches = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    if fds == 0 || !pid_matches {
        return Ok(None);
    }
    if fds > 1 {
        log::warn!("{fds} sockets passed; using the first (fd 3)");
    }
    Ok(Some(listener_from_fd3()))
}

/// SD_LISTEN_FDS_START: systemd passes sockets from fd 3 on.
#[allow(unsafe_code)]
fn listener_from_fd3() -> TcpListener {
    use std::os::fd::FromRawFd;
    // SAFETY: LISTEN_PID names this process, so by the sd_listen_fds(3)
    // protocol fd 3 is an open listening socket handed to us alone. It is
    // taken once, first thing in server::run, before the program opens any
    // file, so no other owner of fd 3 exists.
    unsafe { TcpListener::from_raw_fd(3) }
}
