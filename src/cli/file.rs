//! Operating the database file: `backup` (a consistent copy, also while the
//! daemon runs, through the API) and `check-db` (its indexes, daemon
//! stopped).

use std::path::Path;

use super::target::{Failure, with_target};
use crate::config::Config;
use crate::store::Store;

/// A consistent copy of the database, written to `to` (never overwritten;
/// written under a temporary name and renamed when complete).
pub fn backup(config: &Config, to: &Path) -> Result<(), Failure> {
    if to.exists() {
        return Err(Failure::Usage(format!("{} already exists", to.display())));
    }
    let tmp = to.with_extension("partial");
    with_target(config, |t| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut body = t.call("GET", "/api/backup", None)?.stream()?;
        // Phone numbers and message bodies: readable by the owner only.
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::io::copy(&mut body, &mut file).map_err(|e| format!("{}: {e}", tmp.display()))?;
        Ok(file.sync_all().map_err(|e| e.to_string())?)
    })?;
    std::fs::rename(&tmp, to).map_err(|e| format!("{}: {e}", to.display()))?;
    println!("backup written to {}", to.display());
    Ok(())
}

/// Opens the file (the daemon must be stopped) and checks every index.
pub fn check_db(config: &Config) -> Result<bool, String> {
    let store =
        Store::open(&config.db_path).map_err(|e| format!("{}: {e}", config.db_path.display()))?;
    let problems = store.check().map_err(|e| e.to_string())?;
    for p in &problems {
        println!("{p}");
    }
    println!(
        "{}: {} problem(s)",
        config.db_path.display(),
        problems.len()
    );
    Ok(problems.is_empty())
}
