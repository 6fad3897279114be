//! What a crate's `Cargo.toml` tells: which async runtime it runs on, from its dependencies (and,
//! for `workspace = true` ones, its workspace's `[workspace.dependencies]`). Read once per crate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::catalog::{Catalog, PerRuntime};

/// The async runtime a crate depends on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Runtime {
    Tokio,
    AsyncStd,
    Smol,
    /// None, several, or no `Cargo.toml`.
    #[default]
    Unknown,
}

impl<T> PerRuntime<T> {
    /// The value for `runtime`, `None` when it is unknown.
    pub fn get(&self, runtime: Runtime) -> Option<&T> {
        match runtime {
            Runtime::Tokio => Some(&self.tokio),
            Runtime::AsyncStd => Some(&self.async_std),
            Runtime::Smol => Some(&self.smol),
            Runtime::Unknown => None,
        }
    }
}

/// Reads manifests, each at most once (a workspace root serves all its members).
#[derive(Default)]
pub struct Manifests {
    parsed: HashMap<PathBuf, Option<Table>>,
}

impl Manifests {
    /// The parsed `Cargo.toml` in `dir`, if there is one and it parses.
    pub fn get(&mut self, dir: &Path) -> Option<&Table> {
        self.parsed
            .entry(dir.to_path_buf())
            .or_insert_with(|| std::fs::read_to_string(dir.join("Cargo.toml")).ok()?.parse::<Table>().ok())
            .as_ref()
    }

    /// The runtime of the crate whose `Cargo.toml` is in `root`: the one runtime its (non-optional,
    /// else optional) `[dependencies]` and `[target.*.dependencies]` name. Dev- and
    /// build-dependencies do not count: they are not what the crate's code runs on.
    pub fn runtime(&mut self, root: &Path) -> Runtime {
        let Some(manifest) = self.get(root).cloned() else {
            return Runtime::Unknown;
        };
        let workspace_deps = self.workspace_dependencies(root, &manifest);
        let mut required = Vec::new();
        let mut optional = Vec::new();
        if let Some(name) = manifest.get("package").and_then(|p| p.get("name")).and_then(Value::as_str) {
            required.extend(runtime_of_crate(name));
        }
        for (key, spec) in dependency_entries(&manifest) {
            let mut name = spec.get("package").and_then(Value::as_str).unwrap_or(key);
            if spec.get("workspace").and_then(Value::as_bool) == Some(true) {
                let inherited = workspace_deps.as_ref().and_then(|deps| deps.get(key));
                name = inherited.and_then(|d| d.get("package")).and_then(Value::as_str).unwrap_or(key);
            }
            let is_optional = spec.get("optional").and_then(Value::as_bool) == Some(true);
            let runtimes = if is_optional { &mut optional } else { &mut required };
            runtimes.extend(runtime_of_crate(name));
        }
        for runtimes in [&mut required, &mut optional] {
            runtimes.sort_by_key(|r| *r as u8);
            runtimes.dedup();
        }
        match (required.as_slice(), optional.as_slice()) {
            ([one], _) | ([], [one]) => *one,
            _ => Runtime::Unknown,
        }
    }

    /// `[workspace.dependencies]` of the workspace `root`'s crate belongs to: its own manifest, the
    /// one `package.workspace` names, or the nearest folder above holding a `[workspace]`.
    fn workspace_dependencies(&mut self, root: &Path, manifest: &Table) -> Option<Table> {
        let deps_of = |table: &Table| table.get("workspace")?.get("dependencies")?.as_table().cloned();
        if manifest.contains_key("workspace") {
            return deps_of(manifest);
        }
        let named = manifest.get("package").and_then(|p| p.get("workspace")).and_then(Value::as_str);
        if let Some(dir) = named {
            return self.get(&root.join(dir)).and_then(deps_of);
        }
        let here = if root.as_os_str().is_empty() { Path::new(".") } else { root };
        let absolute = std::fs::canonicalize(here).unwrap_or_else(|_| root.to_path_buf());
        for dir in absolute.ancestors().skip(1) {
            if let Some(table) = self.get(dir) {
                if table.contains_key("workspace") {
                    return deps_of(table);
                }
            }
        }
        None
    }
}

/// Every dependency of the crate's code: `[dependencies]` and `[target.'cfg(..)'.dependencies]`,
/// as (key, spec) with a version string turned into an empty spec.
fn dependency_entries(manifest: &Table) -> Vec<(&str, Table)> {
    let mut tables: Vec<&Table> = manifest.get("dependencies").and_then(Value::as_table).into_iter().collect();
    if let Some(targets) = manifest.get("target").and_then(Value::as_table) {
        tables.extend(targets.values().filter_map(|t| t.get("dependencies")?.as_table()));
    }
    let spec = |value: &Value| value.as_table().cloned().unwrap_or_default();
    tables.into_iter().flat_map(|t| t.iter().map(move |(key, value)| (key.as_str(), spec(value)))).collect()
}

fn runtime_of_crate(name: &str) -> Option<Runtime> {
    let crates = &Catalog::get().blocking.runtimes;
    let is = |names: &Vec<String>| names.iter().any(|n| n == name);
    if is(&crates.tokio) {
        Some(Runtime::Tokio)
    } else if is(&crates.async_std) {
        Some(Runtime::AsyncStd)
    } else if is(&crates.smol) {
        Some(Runtime::Smol)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime_of(files: &[(&str, &str)], root: &str) -> Runtime {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Manifests::default().runtime(&dir.path().join(root))
    }

    #[test]
    fn the_runtime_comes_from_the_dependencies() {
        let tokio = "[package]\nname = \"app\"\n[dependencies]\nserde = \"1\"\ntokio = { version = \"1\" }\n";
        assert_eq!(runtime_of(&[("Cargo.toml", tokio)], ""), Runtime::Tokio);
        let table = "[package]\nname = \"app\"\n[dependencies.async-std]\nversion = \"1\"\n";
        assert_eq!(runtime_of(&[("Cargo.toml", table)], ""), Runtime::AsyncStd);
        let target = "[package]\nname = \"app\"\n[target.'cfg(unix)'.dependencies]\nsmol = \"2\"\n";
        assert_eq!(runtime_of(&[("Cargo.toml", target)], ""), Runtime::Smol);
        let renamed = "[package]\nname = \"app\"\n[dependencies]\nrt = { package = \"tokio\", version = \"1\" }\n";
        assert_eq!(runtime_of(&[("Cargo.toml", renamed)], ""), Runtime::Tokio);
        let implied = "[package]\nname = \"app\"\n[dependencies]\naxum = \"0.8\"\n";
        assert_eq!(runtime_of(&[("Cargo.toml", implied)], ""), Runtime::Tokio);
    }

    #[test]
    fn none_several_dev_only_or_no_manifest_is_unknown() {
        let none = "[package]\nname = \"app\"\n[dependencies]\nfutures = \"0.3\"\n";
        assert_eq!(runtime_of(&[("Cargo.toml", none)], ""), Runtime::Unknown);
        let both = "[package]\nname = \"app\"\n[dependencies]\ntokio = \"1\"\nsmol = \"2\"\n";
        assert_eq!(runtime_of(&[("Cargo.toml", both)], ""), Runtime::Unknown);
        let dev = "[package]\nname = \"app\"\n[dev-dependencies]\ntokio = \"1\"\n";
        assert_eq!(runtime_of(&[("Cargo.toml", dev)], ""), Runtime::Unknown);
        assert_eq!(runtime_of(&[], ""), Runtime::Unknown);
        assert_eq!(runtime_of(&[("Cargo.toml", "not = [toml")], ""), Runtime::Unknown);
    }

    #[test]
    fn a_required_runtime_wins_over_optional_ones() {
        let mixed = "[package]\nname = \"app\"\n[dependencies]\ntokio = \"1\"\nasync-std = { version = \"1\", optional = true }\n";
        assert_eq!(runtime_of(&[("Cargo.toml", mixed)], ""), Runtime::Tokio);
        let one_optional = "[package]\nname = \"lib\"\n[dependencies]\nsmol = { version = \"2\", optional = true }\n";
        assert_eq!(runtime_of(&[("Cargo.toml", one_optional)], ""), Runtime::Smol);
        let two_optional = "[package]\nname = \"lib\"\n[dependencies]\ntokio = { version = \"1\", optional = true }\nsmol = { version = \"2\", optional = true }\n";
        assert_eq!(runtime_of(&[("Cargo.toml", two_optional)], ""), Runtime::Unknown);
        let itself = "[package]\nname = \"tokio\"\n[dependencies]\nbytes = \"1\"\n";
        assert_eq!(runtime_of(&[("Cargo.toml", itself)], ""), Runtime::Tokio);
    }

    #[test]
    fn workspace_dependencies_are_followed() {
        let root = "[workspace]\nmembers = [\"app\"]\n[workspace.dependencies]\nrt = { package = \"async-std\", version = \"1\" }\n";
        let member = "[package]\nname = \"app\"\n[dependencies]\nrt = { workspace = true }\n";
        assert_eq!(
            runtime_of(&[("Cargo.toml", root), ("crates/app/Cargo.toml", member)], "crates/app"),
            Runtime::AsyncStd
        );
        let plain = "[package]\nname = \"app\"\n[dependencies]\ntokio.workspace = true\n";
        assert_eq!(runtime_of(&[("Cargo.toml", "[workspace]\n"), ("app/Cargo.toml", plain)], "app"), Runtime::Tokio);
        let named = "[package]\nname = \"app\"\nworkspace = \"../ws\"\n[dependencies]\nrt = { workspace = true }\n";
        let ws = "[workspace]\n[workspace.dependencies]\nrt = { package = \"smol\", version = \"2\" }\n";
        assert_eq!(runtime_of(&[("ws/Cargo.toml", ws), ("app/Cargo.toml", named)], "app"), Runtime::Smol);
    }
}
