//! Finding the files to check and reading them. Discovery honours `.gitignore` and `.ignore`,
//! skips `target/` and hidden folders, and always keeps a file the user named.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use crate::config::PathGlobs;

/// A problem with one path found while walking (an unreadable folder, a symlink loop).
#[derive(Debug)]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Discovery {
    /// Sorted and without duplicates, each as discovered from the PATH the user gave.
    pub files: Vec<PathBuf>,
    pub errors: Vec<WalkError>,
}

/// Walks every root in parallel. A root that does not exist is an error for the whole run.
pub fn discover(roots: &[PathBuf]) -> Result<Discovery, String> {
    discover_excluding(roots, None)
}

/// [`discover`], skipping the files and folders `exclude` matches (the configuration's
/// `exclude`); a root the user named is checked all the same.
pub fn discover_excluding(roots: &[PathBuf], exclude: Option<PathGlobs>) -> Result<Discovery, String> {
    // Each file with the first root that reaches it.
    let files = Mutex::new(BTreeMap::new());
    let errors = Mutex::new(Vec::new());
    for (index, root) in roots.iter().enumerate() {
        let meta = std::fs::metadata(root).map_err(|e| format!("cannot read `{}`: {}", root.display(), e))?;
        if !meta.is_dir() {
            files.lock().unwrap().entry(root.clone()).or_insert(index);
            continue;
        }
        WalkBuilder::new(root)
            .hidden(true)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(false)
            .ignore(true)
            .parents(true)
            .require_git(false)
            .filter_entry({
                let exclude = exclude.clone();
                move |entry| {
                    let below_root = entry.depth() > 0;
                    let excluded = exclude.as_ref().is_some_and(|globs| globs.matches(entry.path(), is_dir(entry)));
                    !(below_root && (excluded || (entry.file_name() == "target" && is_dir(entry))))
                }
            })
            .build_parallel()
            .run(|| {
                Box::new(|entry| {
                    match entry {
                        Ok(entry) if is_rust_file(&entry) => {
                            files.lock().unwrap().entry(entry.into_path()).or_insert(index);
                        }
                        Ok(_) => {}
                        Err(err) => errors.lock().unwrap().push(walk_error(root, err)),
                    }
                    WalkState::Continue
                })
            });
    }
    let mut errors = errors.into_inner().unwrap();
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Discovery { files: without_aliases(files.into_inner().unwrap(), roots.len()), errors })
}

/// The files, sorted, each once: a file reached from several roots in different spellings (`src`
/// and `./src/lib.rs`) is kept as the first root that reaches it spells it.
fn without_aliases(files: BTreeMap<PathBuf, usize>, roots: usize) -> Vec<PathBuf> {
    if roots < 2 {
        return files.into_keys().collect();
    }
    let mut first: HashMap<PathBuf, (usize, PathBuf)> = HashMap::new();
    for (path, root) in files {
        let identity = path.canonicalize().unwrap_or_else(|_| path.clone());
        match first.entry(identity) {
            Entry::Occupied(mut kept) if root < kept.get().0 => {
                kept.insert((root, path));
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(slot) => {
                slot.insert((root, path));
            }
        }
    }
    let mut kept: Vec<PathBuf> = first.into_values().map(|(_, path)| path).collect();
    kept.sort();
    kept
}

fn is_dir(entry: &ignore::DirEntry) -> bool {
    entry.file_type().is_some_and(|t| t.is_dir())
}

/// Regular files and symlinks named `*.rs` (a dangling symlink is reported when it is read).
fn is_rust_file(entry: &ignore::DirEntry) -> bool {
    let is_file_like = entry.file_type().is_some_and(|t| t.is_file() || t.is_symlink());
    is_file_like && entry.path().extension().is_some_and(|e| e == "rs")
}

fn walk_error(root: &Path, err: ignore::Error) -> WalkError {
    fn path_of(err: &ignore::Error) -> Option<PathBuf> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(path.clone()),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => path_of(err),
            ignore::Error::Loop { child, .. } => Some(child.clone()),
            _ => None,
        }
    }
    WalkError { path: path_of(&err).unwrap_or_else(|| root.to_path_buf()), message: err.to_string() }
}

/// The source text of a file, or a message saying why there is none.
pub fn read_source(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read file: {e}"))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("file is not valid UTF-8 (invalid byte at offset {at})")
    })
}

/// Is the file test code by where it is: under a `tests/`, `test/`, `benches/` or `examples/` folder
/// (integration tests, benchmarks, examples, `src/tests/mod.rs`), or named `tests.rs` / `test.rs`
/// (by convention the file of a `#[cfg(test)] mod tests;`, whose attribute lives in another file).
pub fn is_test_file(path: &Path) -> bool {
    let is_test_name =
        |name: &std::ffi::OsStr| name == "tests" || name == "test" || name == "benches" || name == "examples";
    path.file_stem().is_some_and(|stem| stem == "tests" || stem == "test")
        || path.ancestors().skip(1).any(|dir| dir.file_name().is_some_and(is_test_name))
}

/// Groups files by crate: the nearest folder above each file holding a `Cargo.toml`. Files with
/// none share one group. Returns one group number per file, and each group's folder.
pub fn crate_groups(files: &[PathBuf]) -> (Vec<usize>, Vec<Option<PathBuf>>) {
    let mut root_of_dir: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
    let mut group_of_root: HashMap<Option<PathBuf>, usize> = HashMap::new();
    let mut roots = Vec::new();
    let groups = files
        .iter()
        .map(|file| {
            let root = crate_root(file.parent().unwrap_or(Path::new("")), &mut root_of_dir);
            *group_of_root.entry(root.clone()).or_insert_with(|| {
                roots.push(root);
                roots.len() - 1
            })
        })
        .collect();
    (groups, roots)
}

fn crate_root(dir: &Path, memo: &mut HashMap<PathBuf, Option<PathBuf>>) -> Option<PathBuf> {
    if let Some(root) = memo.get(dir) {
        return root.clone();
    }
    let root = if dir.join("Cargo.toml").is_file() {
        Some(dir.to_path_buf())
    } else {
        match dir.parent() {
            Some(parent) if !dir.as_os_str().is_empty() => crate_root(parent, memo),
            _ => None,
        }
    };
    memo.insert(dir.to_path_buf(), root.clone());
    root
}

/// Replaces `path`'s contents with `text` so that a reader (or a crash) sees either the old file or
/// the new one, never half of each: the text goes to a temporary file in the same folder, which is
/// then renamed over the original. The original's permissions are kept.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let permissions = std::fs::metadata(path)?.permissions();
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    temp.as_file().set_permissions(permissions)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_files_are_found_by_folder_and_file_name() {
        assert!(is_test_file(Path::new("tests/fixtures.rs")));
        assert!(is_test_file(Path::new("crate/tests/common/mod.rs")));
        assert!(is_test_file(Path::new("crate/benches/parse.rs")));
        assert!(is_test_file(Path::new("crate/examples/client.rs")));
        assert!(is_test_file(Path::new("src/client/options/test.rs")));
        assert!(is_test_file(Path::new("src/sdam/test/sdam.rs")));
        assert!(!is_test_file(Path::new("src/lib.rs")));
        assert!(!is_test_file(Path::new("src/testing.rs")));
        assert!(!is_test_file(Path::new("fixtures/block-on-in-async/basic.rs")));
    }

    #[test]
    fn write_atomically_replaces_the_text_and_keeps_the_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.rs");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        super::write_atomically(&path, "new text").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new text");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");
    }
}
