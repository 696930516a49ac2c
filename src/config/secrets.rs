//! Secrets: from `NAME`, `NAME_FILE`, or a systemd credential, exactly one
//! of them, from a file no one else can change.

use std::path::{Path, PathBuf};

use super::{Origin, Raw, variable};

/// A secret from `NAME`, `NAME_FILE`, or `$CREDENTIALS_DIRECTORY/NAME`,
/// with where it came from. Set in two of those places is an error: which
/// one should win is not obvious, and the wrong one answers callbacks 401.
pub(super) fn read_secret(
    raw: &Raw,
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<(String, Origin)>, String> {
    assert!(
        variable(name).secret,
        "{name} is not marked secret in config::VARIABLES"
    );
    // NAME_FILE, and the directory systemd puts credentials in, follow
    // from the entry's `secret` mark.
    let file_var = format!("{name}_FILE");
    let credential = raw
        .lookup("CREDENTIALS_DIRECTORY")
        .map(|dir| Path::new(dir).join(name))
        .filter(|p| p.exists());
    let places: Vec<String> = [name, file_var.as_str()]
        .into_iter()
        .filter(|n| raw.lookup(n).is_some())
        .map(str::to_string)
        .chain(
            credential
                .iter()
                .map(|c| format!("the systemd credential {}", c.display())),
        )
        .collect();
    if places.len() > 1 {
        return Err(format!(
            "{name} is set in more than one place ({}); keep only one",
            places.join(" and ")
        ));
    }
    if let Some(v) = raw.get(name) {
        return Ok(Some((v.to_string(), raw.origin(name))));
    }
    let (path, label, origin) = match (raw.lookup(&file_var), credential) {
        (Some(p), _) => (PathBuf::from(p), file_var, Origin::File(PathBuf::from(p))),
        (None, Some(c)) => (
            c.clone(),
            format!("{name} (systemd credential)"),
            Origin::Credential(c),
        ),
        (None, None) => return Ok(None),
    };
    check_secret_file_mode(&path, &label, warnings)?;
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("{label}: {}: {e}", path.display()))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        // Empty would mean "no secret": a generated one, or no API token.
        return Err(format!(
            "{label}: {} is empty; write the secret into it",
            path.display()
        ));
    }
    Ok(Some((value.to_string(), origin)))
}

/// A secret file others can change is refused (they would choose the
/// secret). One every user can read is accepted with a warning: Docker
/// secrets are 0444 and Kubernetes mounts them 0644 by default, on
/// read-only mounts where chmod is impossible.
pub(super) fn check_secret_file_mode(
    path: &Path,
    label: &str,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("{label}: {}: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{label}: {} is writable by group or others (mode {mode:04o}); run chmod go-w on it",
            path.display()
        ));
    }
    if mode & 0o004 != 0 {
        warnings.push(format!(
            "{label}: {} is readable by every user (mode {mode:04o}); fine in a container's \
             secret mount, elsewhere run chmod o-r on it",
            path.display()
        ));
    }
    Ok(())
}
