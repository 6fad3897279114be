//! Settings: which rules run on which files, at what severity, what test code gets, and the user's
//! additions to the API catalog. They come from one configuration file per run, the nearest
//! `.async-lint.toml`, `async-lint.toml` or `Cargo.toml` with `[package.metadata.async-lint]` /
//! `[workspace.metadata.async-lint]` above the first PATH (or `--config FILE`), then the command
//! line's `--select`, `--extend-select`, `--ignore` and `--test-code`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::catalog::{Catalog, Extensions};
use crate::diagnostic::{LineIndex, Severity};
use crate::rules::{self, Category, InTests, Rule};

/// The configuration file names looked for in each folder, first match wins.
const FILE_NAMES: &[&str] = &[".async-lint.toml", "async-lint.toml", "Cargo.toml"];

/// What findings in test code (`#[test]` fns, `#[cfg(test)]` items, files under `tests/`,
/// `benches/` or `examples/`) become.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(try_from = "String")]
pub enum TestCode {
    /// Every rule reports in test code.
    Check,
    /// The rules marked relaxed in tests (`async-lint rules`) do not report in test code.
    #[default]
    Relaxed,
    /// No rule reports in test code.
    Skip,
}

impl TryFrom<String> for TestCode {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        use clap::ValueEnum;
        TestCode::from_str(&value, false)
            .map_err(|_| format!("unknown mode `{value}`: expected `check`, `relaxed` or `skip`"))
    }
}

impl TestCode {
    /// Does `rule` run on test code under this setting?
    pub fn runs(self, rule: &Rule) -> bool {
        match self {
            TestCode::Check => true,
            TestCode::Relaxed => rule.tests == InTests::Checked,
            TestCode::Skip => false,
        }
    }
}

/// The configuration options of `async-lint check`.
#[derive(clap::Args, Debug, Default)]
pub struct ConfigArgs {
    /// Read the settings from FILE (an `async-lint.toml`, or a `Cargo.toml` with
    /// `[package.metadata.async-lint]`) instead of the nearest one above the first PATH
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Use no configuration file, only the defaults and the command line
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Run only these rules, replacing the configuration's `select` (rule ids, categories
    /// `correctness`, `suspicious`, `perf`, or `all`; comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Option<Vec<String>>,
    /// Run these rules too (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub extend_select: Vec<String>,
    /// Do not run these rules (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    /// What test code gets: every rule (`check`), all but the rules relaxed in tests (`relaxed`,
    /// the default), or none (`skip`)
    #[arg(long, value_enum, value_name = "MODE")]
    pub test_code: Option<TestCode>,
    /// Skip the files and folders named as PATHs that `exclude` matches too (for pre-commit,
    /// which names every staged file)
    #[arg(long)]
    pub force_exclude: bool,
    /// Where to start looking for the configuration file instead of the first PATH (`cargo
    /// async-lint` passes the workspace root, so that one member's file does not rule the others)
    #[arg(long, value_name = "DIR", hide = true)]
    pub config_search_from: Option<PathBuf>,
}

/// A configuration file as written (`async-lint.toml`, or the `async-lint` table of a Cargo
/// manifest's `metadata`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    select: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    extend_select: Vec<Spanned<String>>,
    #[serde(default)]
    ignore: Vec<Spanned<String>>,
    #[serde(default)]
    severity: BTreeMap<Spanned<String>, Level>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    per_file_ignores: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    test_code: Option<TestCode>,
    #[serde(default)]
    extend: Extensions,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "String")]
enum Level {
    Error,
    Warning,
    Off,
}

impl TryFrom<String> for Level {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "error" => Ok(Level::Error),
            "warning" => Ok(Level::Warning),
            "off" => Ok(Level::Off),
            _ => Err(format!("unknown severity `{value}`: expected `error`, `warning` or `off`")),
        }
    }
}

/// The parts of a `Cargo.toml` that may hold a configuration.
#[derive(Deserialize)]
struct Manifest {
    package: Option<ManifestSection>,
    workspace: Option<ManifestSection>,
}

#[derive(Deserialize)]
struct ManifestSection {
    metadata: Option<ManifestMetadata>,
}

#[derive(Deserialize)]
struct ManifestMetadata {
    #[serde(rename = "async-lint")]
    async_lint: Option<ConfigFile>,
}

/// A configuration file found on disk, with its text for error positions.
struct Source {
    path: PathBuf,
    text: String,
}

impl Source {
    fn read(path: &Path) -> Result<Source, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", display(path)))?;
        Ok(Source { path: path.to_path_buf(), text })
    }

    fn is_manifest(&self) -> bool {
        self.path.file_name().is_some_and(|name| name == "Cargo.toml")
    }

    /// `path:line:col: message` for a byte range of this file.
    fn error(&self, span: Option<Range<usize>>, message: &str) -> String {
        match span {
            Some(span) => {
                let (line, column) = LineIndex::new(&self.text).position(span.start);
                format!("{}:{line}:{column}: {message}", display(&self.path))
            }
            None => format!("{}: {message}", display(&self.path)),
        }
    }

    /// The configuration in this file; `None` for a `Cargo.toml` without one.
    fn parse(&self) -> Result<Option<ConfigFile>, String> {
        let toml_error = |e: toml::de::Error| self.error(e.span(), e.message().trim_end());
        if !self.is_manifest() {
            return toml::from_str(&self.text).map(Some).map_err(toml_error);
        }
        // Most manifests have no configuration: spare them a full parse.
        if !self.text.contains("async-lint") {
            return Ok(None);
        }
        let manifest: Manifest = toml::from_str(&self.text).map_err(toml_error)?;
        let section = |s: Option<ManifestSection>| s.and_then(|s| s.metadata?.async_lint);
        Ok(section(manifest.package).or_else(|| section(manifest.workspace)))
    }
}

/// Path globs in `.gitignore` syntax, relative to a folder (the configuration file's).
#[derive(Clone, Debug)]
pub struct PathGlobs {
    root: PathBuf,
    globs: Gitignore,
}

impl PathGlobs {
    fn new(root: &Path, globs: &[Spanned<String>], source: &Source) -> Result<PathGlobs, String> {
        let mut builder = GitignoreBuilder::new(root);
        for glob in globs {
            let invalid = |e: ignore::Error| source.error(Some(glob.span()), &format!("invalid glob: {e}"));
            builder.add_line(None, glob.get_ref()).map_err(invalid)?;
        }
        let globs = builder.build().map_err(|e| source.error(None, &format!("invalid glob: {e}")))?;
        Ok(PathGlobs { root: root.to_path_buf(), globs })
    }

    /// Does a glob match `path` or a folder above it (below the root)?
    pub fn matches(&self, path: &Path, is_dir: bool) -> bool {
        self.matches_normalized(&normalize(path), is_dir)
    }

    fn matches_normalized(&self, absolute: &Path, is_dir: bool) -> bool {
        let Ok(relative) = absolute.strip_prefix(&self.root) else {
            return false;
        };
        !relative.as_os_str().is_empty() && self.globs.matched_path_or_any_parents(relative, is_dir).is_ignore()
    }
}

/// The settings of one run.
#[derive(Debug)]
pub struct Settings {
    /// The configuration file they were read from, if any.
    pub file: Option<PathBuf>,
    /// Rule and engine ids that are reported (before `per-file-ignores`).
    enabled: HashSet<&'static str>,
    /// The rules among them, in registry order.
    rules: Vec<&'static Rule>,
    severity: HashMap<&'static str, Severity>,
    exclude: Option<PathGlobs>,
    /// `exclude` applies to the PATHs named on the command line too.
    force_exclude: bool,
    per_file_ignores: Vec<(PathGlobs, Vec<&'static str>)>,
    pub test_code: TestCode,
    catalog: Arc<Catalog>,
}

impl Default for Settings {
    /// Every rule and engine id at its default severity, test code relaxed, the built-in catalog.
    fn default() -> Self {
        Settings {
            file: None,
            enabled: rules::ALL.iter().map(|r| r.id).chain(rules::ENGINE.iter().map(|e| e.id)).collect(),
            rules: rules::ALL.to_vec(),
            severity: HashMap::new(),
            exclude: None,
            force_exclude: false,
            per_file_ignores: Vec::new(),
            test_code: TestCode::default(),
            catalog: Catalog::builtin(),
        }
    }
}

impl Settings {
    /// Is rule or engine id `id` reported for the file at `path`? False for a rule that was not
    /// run on it (not selected, ignored, `off`, or in a `per-file-ignores` entry matching it).
    pub fn rule_enabled(&self, path: &Path, id: &str) -> bool {
        self.enabled.contains(id) && !self.ignored_for(path).any(|ignored| ignored == id)
    }

    /// The rules to run on the file at `path`.
    pub fn rules_for(&self, path: &Path) -> Cow<'_, [&'static Rule]> {
        let ignored: Vec<&str> = self.ignored_for(path).collect();
        if ignored.is_empty() {
            return Cow::Borrowed(&self.rules);
        }
        Cow::Owned(self.rules.iter().copied().filter(|r| !ignored.contains(&r.id)).collect())
    }

    /// The severity findings of `id` are reported at.
    pub fn severity(&self, id: &str) -> Option<Severity> {
        self.severity.get(id).copied()
    }

    /// Globs of files that discovery skips.
    pub fn exclude(&self) -> Option<&PathGlobs> {
        self.exclude.as_ref()
    }

    /// The PATHs to check: those given, less (with `--force-exclude`) those `exclude` matches.
    pub fn paths_to_check(&self, paths: &[PathBuf]) -> Vec<PathBuf> {
        match &self.exclude {
            Some(globs) if self.force_exclude => {
                paths.iter().filter(|path| !globs.matches(path, path.is_dir())).cloned().collect()
            }
            _ => paths.to_vec(),
        }
    }

    /// The API lists: the built-in ones with the configuration's `[extend]` entries.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn ignored_for<'s>(&'s self, path: &Path) -> impl Iterator<Item = &'static str> + 's {
        let absolute = if self.per_file_ignores.is_empty() { PathBuf::new() } else { normalize(path) };
        let matching =
            self.per_file_ignores.iter().filter(move |(globs, _)| globs.matches_normalized(&absolute, false));
        matching.flat_map(|(_, ids)| ids.iter().copied())
    }

    /// One layer of rule selection, as ruff applies them: `select` replaces the rules (engine
    /// ids stay), then `extend-select` adds and `ignore` removes.
    fn select(&mut self, select: Option<Vec<&'static str>>, extend: Vec<&'static str>, ignore: Vec<&'static str>) {
        if let Some(select) = select {
            self.enabled.retain(|id| rules::is_engine_id(id));
            self.enabled.extend(select);
        }
        self.enabled.extend(extend);
        for id in ignore {
            self.enabled.remove(id);
        }
        self.rules = rules::ALL.iter().copied().filter(|r| self.enabled.contains(r.id)).collect();
    }

    fn apply_file(&mut self, source: &Source, config: ConfigFile) -> Result<(), String> {
        // Normalised first: the parent of a bare `--config other.toml` is an empty path.
        let root = normalize(&source.path).parent().map(Path::to_path_buf).unwrap_or_default();
        let ids = |selectors: &[Spanned<String>], key: &str| -> Result<Vec<&'static str>, String> {
            let mut ids = Vec::new();
            for selector in selectors {
                let expanded = expand(selector.get_ref())
                    .ok_or_else(|| source.error(Some(selector.span()), &unknown(selector.get_ref(), key)))?;
                ids.extend(expanded);
            }
            Ok(ids)
        };
        // Most specific last, so that `perf = "error"` then `sequential-await-in-loop = "warning"`
        // leaves the rule at warning.
        let mut levels: Vec<_> = config.severity.iter().collect();
        levels.sort_by_key(|(selector, _)| specificity(selector.get_ref()));
        let mut off = Vec::new();
        for (selector, level) in levels {
            for id in ids(std::slice::from_ref(selector), "severity")? {
                match level {
                    Level::Error => self.severity.insert(id, Severity::Error),
                    Level::Warning => self.severity.insert(id, Severity::Warning),
                    Level::Off => {
                        off.push(id);
                        self.severity.remove(id)
                    }
                };
            }
        }
        let select = config.select.as_deref().map(|s| ids(s, "select")).transpose()?;
        let ignore = ids(&config.ignore, "ignore")?.into_iter().chain(off).collect();
        self.select(select, ids(&config.extend_select, "extend-select")?, ignore);
        if !config.exclude.is_empty() {
            self.exclude = Some(PathGlobs::new(&root, &config.exclude, source)?);
        }
        for (glob, selectors) in &config.per_file_ignores {
            let globs = PathGlobs::new(&root, std::slice::from_ref(glob), source)?;
            self.per_file_ignores.push((globs, ids(selectors, "per-file-ignores")?));
        }
        self.test_code = config.test_code.unwrap_or(self.test_code);
        self.catalog =
            Catalog::extended(&config.extend).map_err(|(span, message)| source.error(Some(span), &message))?;
        self.file = Some(source.path.clone());
        Ok(())
    }

    fn apply_args(&mut self, args: &ConfigArgs) -> Result<(), String> {
        let ids = |selectors: &[String], flag: &str| -> Result<Vec<&'static str>, String> {
            let mut ids = Vec::new();
            for selector in selectors.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                ids.extend(expand(selector).ok_or_else(|| unknown(selector, flag))?);
            }
            Ok(ids)
        };
        let select = args.select.as_deref().map(|s| ids(s, "--select")).transpose()?;
        self.select(select, ids(&args.extend_select, "--extend-select")?, ids(&args.ignore, "--ignore")?);
        self.test_code = args.test_code.unwrap_or(self.test_code);
        self.force_exclude = args.force_exclude;
        Ok(())
    }
}

/// The settings for checking `paths`: the configuration file (`--config`, else the nearest one
/// above the first PATH, unless `--no-config`), then the command line.
pub fn load(args: &ConfigArgs, paths: &[PathBuf]) -> Result<Settings, String> {
    let mut settings = Settings::default();
    let found = match &args.config {
        Some(file) => {
            let source = Source::read(file)?;
            let config = source.parse()?.ok_or_else(|| {
                source.error(None, "no `[package.metadata.async-lint]` or `[workspace.metadata.async-lint]` table")
            })?;
            Some((source, config))
        }
        None if args.no_config => None,
        None => {
            find(args.config_search_from.as_deref().or(paths.first().map(PathBuf::as_path)).unwrap_or(Path::new(".")))?
        }
    };
    if let Some((source, config)) = found {
        settings.apply_file(&source, config)?;
    }
    settings.apply_args(args)?;
    Ok(settings)
}

/// The nearest configuration at or above `start`.
fn find(start: &Path) -> Result<Option<(Source, ConfigFile)>, String> {
    let start = normalize(start);
    let first_dir = if start.is_dir() { Some(start.as_path()) } else { start.parent() };
    for dir in first_dir.into_iter().flat_map(Path::ancestors) {
        for name in FILE_NAMES {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            let source = Source::read(&path)?;
            if let Some(config) = source.parse()? {
                return Ok(Some((source, config)));
            }
        }
    }
    Ok(None)
}

/// The ids a selector stands for: a rule or engine id, a category, or `all`.
fn expand(selector: &str) -> Option<Vec<&'static str>> {
    if selector == "all" {
        return Some(rules::ALL.iter().map(|r| r.id).chain(rules::ENGINE.iter().map(|e| e.id)).collect());
    }
    let categories = [Category::Correctness, Category::Suspicious, Category::Perf];
    if let Some(category) = categories.into_iter().find(|c| c.as_str() == selector) {
        return Some(rules::ALL.iter().filter(|r| r.category == category).map(|r| r.id).collect());
    }
    if let Some(rule) = rules::by_id(selector) {
        return Some(vec![rule.id]);
    }
    rules::engine_id(selector).map(|e| vec![e.id])
}

fn specificity(selector: &str) -> u8 {
    match selector {
        "all" => 0,
        "correctness" | "suspicious" | "perf" => 1,
        _ => 2,
    }
}

fn unknown(selector: &str, key: &str) -> String {
    let mut message = format!("unknown rule `{selector}` in `{key}`");
    match crate::rules::nearest(selector) {
        Some(rule) => message.push_str(&format!("\n  help: did you mean `{}`?", rule.id)),
        None => message.push_str("\n  help: `async-lint rules` lists the rules; categories are `correctness`, `suspicious`, `perf`; `all` selects every rule"),
    }
    message
}

/// `path` made absolute, with `.` and `..` taken out without touching the file system (so that it
/// can be compared with a configuration file's folder whatever form the user gave it in).
fn normalize(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut normal = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

/// A path as the user will recognise it: relative to the current folder when below it.
fn display(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let path = normalize(path);
    path.strip_prefix(&cwd).unwrap_or(&path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_enabled_answers_for_each_file() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            "ignore = [\"perf\"]\n[per-file-ignores]\n\"tests/**\" = [\"block-on-in-async\", \"parse-error\"]\n";
        std::fs::write(dir.path().join("async-lint.toml"), config).unwrap();
        let settings = load(&ConfigArgs::default(), &[dir.path().join("src")]).unwrap();
        assert_eq!(settings.file, Some(dir.path().join("async-lint.toml")));
        let (lib, test) = (dir.path().join("src/lib.rs"), dir.path().join("tests/it.rs"));
        assert!(settings.rule_enabled(&lib, "block-on-in-async"));
        assert!(!settings.rule_enabled(&test, "block-on-in-async"));
        assert!(!settings.rule_enabled(&test, "parse-error"));
        assert!(settings.rule_enabled(&test, "io-error"));
        assert!(!settings.rule_enabled(&lib, "sequential-await-in-loop"), "`perf` is ignored everywhere");
        let ids = |path: &Path| settings.rules_for(path).iter().map(|r| r.id).collect::<Vec<_>>();
        assert!(ids(&lib).contains(&"block-on-in-async"));
        assert!(!ids(&test).contains(&"block-on-in-async"));
        assert_eq!(ids(&lib).len(), rules::ALL.len() - 1);
    }

    #[test]
    fn the_default_runs_every_rule_and_relaxes_test_code() {
        let settings = Settings::default();
        assert_eq!(settings.rules_for(Path::new("src/lib.rs")).len(), rules::ALL.len());
        assert!(rules::ENGINE.iter().all(|e| settings.rule_enabled(Path::new("src/lib.rs"), e.id)));
        assert_eq!(settings.test_code, TestCode::Relaxed);
        assert!(std::ptr::eq(settings.catalog(), Catalog::get()), "no extensions: the shared built-in catalog");
    }
}
