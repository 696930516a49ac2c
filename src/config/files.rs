//! The database file, the generated secret beside it, and what is kept
//! how long (staleness, retention).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::default_of;
use super::reader::Reader;

pub(super) struct Files {
    pub db_path: PathBuf,
}

pub(super) fn read(r: &mut Reader) -> Files {
    let db_path = db_path(r);
    warn_if_shared(r, &db_path, "the database");
    warn_if_shared(
        r,
        &generated_secret_path(&db_path),
        "the generated callback secret",
    );
    Files { db_path }
}

fn db_path(r: &mut Reader) -> PathBuf {
    if let Some(p) = r.get("SINCH_DLR_DB") {
        return PathBuf::from(p);
    }
    let default = PathBuf::from(default_of("SINCH_DLR_DB"));
    let Some(url) = r.get("DATABASE_URL") else {
        return default;
    };
    match url.strip_prefix("file:") {
        Some(p) => PathBuf::from(p.strip_prefix("//").unwrap_or(p)),
        None if !url.contains("://") => PathBuf::from(url),
        None => {
            r.problem(format!(
                "DATABASE_URL: {url:?} is not a file; sinch-dlr keeps its data in one local redb file (file:./sinch-dlr.redb)"
            ));
            default
        }
    }
}

pub(super) fn generated_secret_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".secret");
    db_path.with_file_name(name)
}

/// sinch-dlr creates its files 0600; one made by an older version (or by
/// hand) may still be open to others: say so, it holds phone numbers and
/// message bodies, or the callback secret.
fn warn_if_shared(r: &mut Reader, path: &Path, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        r.warn(format!(
            "{} ({what}) is open to other users (mode {mode:04o}); run chmod 600 on it",
            path.display()
        ));
    }
}

pub(super) struct Upkeep {
    pub stale_after: Duration,
    /// None = keep forever.
    pub retention: Option<Duration>,
    pub prune_interval: Duration,
}

pub(super) fn upkeep(r: &mut Reader) -> Upkeep {
    Upkeep {
        // Listed in hours and days.
        stale_after: r.seconds("SINCH_DLR_STALE_AFTER") * 3600,
        retention: r
            .seconds_if_set("SINCH_DLR_RETENTION_DAYS")
            .map(|d| d.mul_f64(86_400.0)),
        prune_interval: r.seconds("SINCH_DLR_PRUNE_INTERVAL"),
    }
}
