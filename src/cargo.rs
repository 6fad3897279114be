//! `cargo async-lint [check options]`: checks every member crate of the current workspace (or of
//! the one `--manifest-path` names). The `cargo-async-lint` binary only calls [`run`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde::Deserialize;

use crate::cli;

/// What `cargo metadata --format-version 1 --no-deps` says that we need.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    workspace_root: PathBuf,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    manifest_path: PathBuf,
}

pub fn run() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    // Cargo runs `cargo-async-lint async-lint ARGS`; run by hand, the binary gets no such argument.
    if args.first().is_some_and(|arg| arg == "async-lint") {
        args.remove(0);
    }
    let workspace = take_manifest_path(&mut args).and_then(|path| workspace(path.as_deref()));
    match workspace {
        Ok((root, folders)) => {
            // The configuration is the workspace's, found from its root, whichever member is first.
            let search = [OsString::from("--config-search-from"), root.into_os_string()];
            let check = ["async-lint", "check"].map(OsString::from);
            cli::run_from(check.into_iter().chain(search).chain(args).chain(folders.into_iter().map(OsString::from)))
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Removes `--manifest-path PATH` (or `--manifest-path=PATH`) from `args`, which are for `check`.
/// A `--manifest-path` with no PATH after it is an error, not the current workspace.
fn take_manifest_path(args: &mut Vec<OsString>) -> Result<Option<OsString>, String> {
    let Some(at) =
        args.iter().position(|arg| arg == "--manifest-path" || arg.to_string_lossy().starts_with("--manifest-path="))
    else {
        return Ok(None);
    };
    let flag = args.remove(at);
    match flag.to_string_lossy().strip_prefix("--manifest-path=") {
        Some(path) => Ok(Some(path.into())),
        None if at < args.len() => Ok(Some(args.remove(at))),
        None => Err("`--manifest-path` needs the path of a `Cargo.toml` after it".into()),
    }
}

/// The workspace root, and each member's package folder, relative to the current folder where it
/// is inside it, without the folders inside another member's (a root package walks its members
/// already).
fn workspace(manifest_path: Option<&std::ffi::OsStr>) -> Result<(PathBuf, Vec<PathBuf>), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["metadata", "--format-version", "1", "--no-deps"]).stderr(Stdio::inherit());
    if let Some(path) = manifest_path {
        command.arg("--manifest-path").arg(path);
    }
    let output = command.output().map_err(|e| format!("cannot run `cargo metadata`: {e}"))?;
    if !output.status.success() {
        return Err("`cargo metadata` failed; async-lint needs it to find the workspace's crates".into());
    }
    let metadata: Metadata = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cannot read the output of `cargo metadata`: {e}"))?;
    let current = std::env::current_dir().unwrap_or_default();
    let mut folders: Vec<PathBuf> = metadata
        .packages
        .iter()
        .filter(|package| metadata.workspace_members.contains(&package.id))
        .filter_map(|package| package.manifest_path.parent())
        .map(|folder| relative_to(folder, &current))
        .collect();
    folders.sort();
    let mut outermost: Vec<PathBuf> = Vec::new();
    for folder in folders {
        if !outermost.iter().any(|outer| outer == Path::new(".") || folder.starts_with(outer)) {
            outermost.push(folder);
        }
    }
    Ok((metadata.workspace_root, outermost))
}

fn relative_to(folder: &Path, current: &Path) -> PathBuf {
    match folder.strip_prefix(current) {
        Ok(inner) if inner.as_os_str().is_empty() => PathBuf::from("."),
        Ok(inner) => inner.to_path_buf(),
        Err(_) => folder.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::take_manifest_path;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_manifest_path_is_taken_out_of_the_check_options() {
        let mut list = args(&["--fix", "--manifest-path", "w/Cargo.toml", "-j", "2"]);
        assert_eq!(take_manifest_path(&mut list), Ok(Some("w/Cargo.toml".into())));
        assert_eq!(list, args(&["--fix", "-j", "2"]));
        let mut list = args(&["--manifest-path=w/Cargo.toml"]);
        assert_eq!(take_manifest_path(&mut list), Ok(Some("w/Cargo.toml".into())));
        assert!(list.is_empty());
        assert_eq!(take_manifest_path(&mut args(&["--diff"])), Ok(None));
        assert!(take_manifest_path(&mut args(&["--fix", "--manifest-path"])).is_err(), "no PATH after it");
    }
}
