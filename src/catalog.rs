//! The API lists the rules match against. They live as data in `rules/*.toml`, embedded in the
//! binary, so adding an API is a one-line change that needs no Rust. A user's configuration may
//! extend them (`[extend]`, see [`Extensions`]): each run builds its catalog once.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use toml::Spanned;

use crate::engine::resolve::Resolved;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Executors {
    pub block_on: HashSet<String>,
    pub block_on_methods: HashSet<String>,
    pub spawn: HashSet<String>,
    pub spawn_receivers: HashSet<String>,
    pub join_error_spawn: HashSet<String>,
    pub join_error_handles: HashSet<String>,
    pub join_all: HashSet<String>,
    pub offload: HashSet<String>,
    pub offload_methods: HashSet<String>,
    /// The last segments of `offload` and the `offload_methods`: how a crate's own wrappers are
    /// named (`crate::blocking::spawn_blocking`). Made from the two by `index`.
    /// A list, not a set: it is asked about identifiers, which compare without allocating.
    #[serde(skip)]
    pub offload_names: Vec<String>,
}

impl Executors {
    fn index(&mut self) {
        let fns = self.offload.iter().filter_map(|path| path.rsplit("::").next());
        let mut names: Vec<String> =
            fns.chain(self.offload_methods.iter().map(String::as_str)).map(String::from).collect();
        names.sort_unstable();
        names.dedup();
        self.offload_names = names;
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    pub types: HashSet<String>,
    pub type_names: HashSet<String>,
    pub type_tails: HashSet<String>,
    pub type_suffixes: Vec<String>,
    pub fresh_token: HashSet<String>,
    pub fresh_token_names: HashSet<String>,
    pub cancel_on_drop_spawn: HashSet<String>,
    pub default_calls: HashSet<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ordering {
    pub order_dependent: Vec<String>,
}

/// Blocking APIs and their async replacements (`rules/blocking-apis.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blocking {
    /// Methods that keep the type of the value inside (`.unwrap()`, `.expect(..)`).
    pub unwrap_methods: HashSet<String>,
    /// Dependency names that tell a crate's runtime.
    pub runtimes: PerRuntime<Vec<String>>,
    /// Where to move a blocking call that has no async replacement.
    pub offload: PerRuntime<String>,
    /// Call path (fn, or `Type::method`) -> the type it returns.
    pub returns: HashMap<String, String>,
    /// Type -> its methods that return the same type.
    pub builders: HashMap<String, HashSet<String>>,
    api: Vec<ApiEntry>,
    /// `api`, one entry per name, by kind.
    #[serde(skip)]
    pub fns: HashMap<String, BlockingApi>,
    #[serde(skip)]
    pub prefixes: Vec<BlockingApi>,
    /// By `Type::method`.
    #[serde(skip)]
    pub methods: HashMap<String, BlockingApi>,
    /// By method name; `path` is the trait's.
    #[serde(skip)]
    pub trait_methods: HashMap<String, BlockingApi>,
    #[serde(skip)]
    pub method_names: HashMap<String, BlockingApi>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerRuntime<T> {
    pub tokio: T,
    #[serde(rename = "async-std")]
    pub async_std: T,
    pub smol: T,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiKind {
    Fn,
    Prefix,
    Method,
    TraitMethod,
    MethodName,
}

/// One `[[api]]` as written: `names` expand `{name}` in the path and the replacements.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiEntry {
    path: String,
    #[serde(default)]
    names: Vec<String>,
    kind: ApiKind,
    reason: String,
    tokio: Option<String>,
    #[serde(rename = "async-std")]
    async_std: Option<String>,
    smol: Option<String>,
    any: Option<String>,
    /// Runtimes (`tokio`, `async-std`, `smol`) where the replacement can be an edit.
    #[serde(default)]
    fix: Vec<String>,
}

/// One blocking API, with `{name}` expanded.
#[derive(Clone, Debug)]
pub struct BlockingApi {
    pub path: String,
    pub kind: ApiKind,
    pub reason: String,
    /// The async replacement per runtime (`..` stands for the call's arguments).
    pub replacement: PerRuntime<Option<String>>,
    /// A replacement that holds whatever the runtime.
    pub any: Option<String>,
    /// Per runtime: the replacement is the same call with the same arguments, awaited, and
    /// returns the same type, so it can be an edit.
    pub fix: PerRuntime<bool>,
}

impl Blocking {
    fn index(&mut self) -> Result<(), String> {
        for entry in std::mem::take(&mut self.api) {
            self.add(&entry, false)?;
        }
        Ok(())
    }

    /// Indexes one `[[api]]` entry. With `replace`, an entry for a path already listed replaces
    /// it (a user's entry overrides the built-in one); without, it is an error.
    fn add(&mut self, entry: &ApiEntry, replace: bool) -> Result<(), String> {
        let names = if entry.names.is_empty() { vec![None] } else { entry.names.iter().map(Some).collect() };
        for name in names {
            let expand = |text: &str| match name {
                Some(name) => text.replace("{name}", name),
                None => text.to_string(),
            };
            let api = BlockingApi {
                path: expand(&entry.path),
                kind: entry.kind,
                reason: entry.reason.clone(),
                replacement: PerRuntime {
                    tokio: entry.tokio.as_deref().map(expand),
                    async_std: entry.async_std.as_deref().map(expand),
                    smol: entry.smol.as_deref().map(expand),
                },
                any: entry.any.clone(),
                fix: PerRuntime {
                    tokio: entry.fix.iter().any(|r| r == "tokio"),
                    async_std: entry.fix.iter().any(|r| r == "async-std"),
                    smol: entry.fix.iter().any(|r| r == "smol"),
                },
            };
            if let Some(unknown) = entry.fix.iter().find(|r| !matches!(r.as_str(), "tokio" | "async-std" | "smol")) {
                return Err(format!("`{}`: unknown runtime `{unknown}` in `fix`", api.path));
            }
            if api.path.contains('{') {
                return Err(format!("`{}`: a `{{..}}` placeholder without `names`", api.path));
            }
            let (head, last) = match api.path.rsplit_once("::") {
                Some((head, last)) => (head.to_string(), last.to_string()),
                None => (String::new(), api.path.clone()),
            };
            let needs_head = matches!(api.kind, ApiKind::Method | ApiKind::TraitMethod);
            if needs_head && head.is_empty() {
                return Err(format!("`{}`: a {:?} entry needs a `Type::method` path", api.path, api.kind));
            }
            let path = api.path.clone();
            let replaced = match api.kind {
                ApiKind::Fn => self.fns.insert(api.path.clone(), api),
                ApiKind::Prefix => {
                    self.prefixes.push(api);
                    None
                }
                ApiKind::Method => self.methods.insert(api.path.clone(), api),
                ApiKind::TraitMethod => self.trait_methods.insert(last, BlockingApi { path: head, ..api }),
                ApiKind::MethodName => self.method_names.insert(last, api),
            };
            if replaced.is_some() && !replace {
                return Err(format!("`{path}` is listed twice"));
            }
        }
        Ok(())
    }

    /// The API a call of the external path `path` is, if it blocks.
    pub fn fn_api(&self, path: &str) -> Option<&BlockingApi> {
        self.fns.get(path).or_else(|| {
            self.prefixes
                .iter()
                .find(|api| path.strip_prefix(api.path.as_str()).is_some_and(|rest| rest.starts_with("::")))
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Concurrency {
    pub permit_methods: HashSet<String>,
    pub bounding_adapters: HashSet<String>,
    pub lazy_adapters: HashSet<String>,
    pub iter_wrappers: HashSet<String>,
    pub task_sets: HashSet<String>,
    pub task_set_spawn: HashSet<String>,
    pub batch_methods: HashSet<String>,
    pub iterator_methods: HashSet<String>,
    pub pacing: HashSet<String>,
    pub arrivals: HashSet<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Macros {
    pub never_await: HashSet<String>,
}

/// Sync locks and cells whose guards must not live across an `.await` (`rules/locks.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locks {
    /// Sync lock / cell type -> the methods that return a guard.
    pub guards: HashMap<String, HashSet<String>>,
    pub borrow_methods: HashSet<String>,
    /// Method -> type names one of which must be imported for the method alone to count.
    pub unwrapped: HashMap<String, Vec<String>>,
    pub unwrapping: HashSet<String>,
}

#[derive(Debug)]
pub struct Catalog {
    pub executors: Executors,
    pub cancellation: Cancellation,
    pub ordering: Ordering,
    pub blocking: Blocking,
    pub concurrency: Concurrency,
    pub macros: Macros,
    pub locks: Locks,
}

/// The embedded data files, by name, for tests and error messages.
pub const SOURCES: &[(&str, &str)] = &[
    ("rules/executors.toml", include_str!("../rules/executors.toml")),
    ("rules/cancellation.toml", include_str!("../rules/cancellation.toml")),
    ("rules/ordering.toml", include_str!("../rules/ordering.toml")),
    ("rules/blocking-apis.toml", include_str!("../rules/blocking-apis.toml")),
    ("rules/concurrency.toml", include_str!("../rules/concurrency.toml")),
    ("rules/macros.toml", include_str!("../rules/macros.toml")),
    ("rules/locks.toml", include_str!("../rules/locks.toml")),
];

/// What a user's configuration adds to the built-in lists (`[extend]` in `async-lint.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Extensions {
    #[serde(default)]
    blocking_apis: BlockingExtensions,
    #[serde(default)]
    executors: ExecutorExtensions,
    #[serde(default)]
    cancellation: CancellationExtensions,
}

/// `[extend.blocking-apis]`: `api` entries of the same shape as `rules/blocking-apis.toml`'s.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockingExtensions {
    #[serde(default)]
    api: Vec<Spanned<ApiEntry>>,
}

/// `[extend.executors]`: fully resolved paths of `block_on` fns, spawners and offload fns.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ExecutorExtensions {
    #[serde(default)]
    block_on: Vec<String>,
    #[serde(default)]
    spawn: Vec<String>,
    #[serde(default)]
    offload: Vec<String>,
}

/// `[extend.cancellation]`: fully resolved paths of types that are a cancellation input.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancellationExtensions {
    #[serde(default)]
    types: Vec<String>,
}

impl Extensions {
    pub fn is_empty(&self) -> bool {
        let executors = &self.executors;
        self.blocking_apis.api.is_empty()
            && executors.block_on.is_empty()
            && executors.spawn.is_empty()
            && executors.offload.is_empty()
            && self.cancellation.types.is_empty()
    }
}

impl Catalog {
    /// The built-in catalog, parsed once per process.
    pub fn get() -> &'static Catalog {
        Catalog::builtin_shared()
    }

    /// The built-in catalog, shared: what a run without extensions uses.
    pub fn builtin() -> Arc<Catalog> {
        Arc::clone(Catalog::builtin_shared())
    }

    fn builtin_shared() -> &'static Arc<Catalog> {
        static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
        CATALOG.get_or_init(|| Arc::new(Catalog::parse().unwrap_or_else(|e| panic!("embedded catalog: {e}"))))
    }

    /// The built-in catalog with a user's extensions. An error names the byte range of the
    /// configuration entry at fault.
    pub fn extended(extensions: &Extensions) -> Result<Arc<Catalog>, (Range<usize>, String)> {
        if extensions.is_empty() {
            return Ok(Catalog::builtin());
        }
        let mut catalog = Catalog::parse().map_err(|e| (0..0, e))?;
        for entry in &extensions.blocking_apis.api {
            catalog.blocking.add(entry.get_ref(), true).map_err(|e| (entry.span(), e))?;
        }
        let executors = &extensions.executors;
        catalog.executors.block_on.extend(executors.block_on.iter().cloned());
        catalog.executors.spawn.extend(executors.spawn.iter().cloned());
        catalog.executors.offload.extend(executors.offload.iter().cloned());
        catalog.executors.index();
        catalog.cancellation.types.extend(extensions.cancellation.types.iter().cloned());
        Ok(Arc::new(catalog))
    }

    pub fn parse() -> Result<Catalog, String> {
        fn load<T: serde::de::DeserializeOwned>(index: usize) -> Result<T, String> {
            let (name, text) = SOURCES[index];
            toml::from_str(text).map_err(|e| format!("{name}: {e}"))
        }
        let mut blocking: Blocking = load(3)?;
        blocking.index().map_err(|e| format!("{}: {e}", SOURCES[3].0))?;
        let (mut executors, cancellation, ordering): (Executors, _, _) = (load(0)?, load(1)?, load(2)?);
        executors.index();
        Ok(Catalog {
            executors,
            cancellation,
            ordering,
            blocking,
            concurrency: load(4)?,
            macros: load(5)?,
            locks: load(6)?,
        })
    }

    /// Is the resolved type `ty` a cancellation input?
    pub fn is_cancellation_type(&self, ty: &Resolved) -> bool {
        let c = &self.cancellation;
        let last = ty.last();
        if last.is_empty() {
            return false;
        }
        if c.types.contains(ty.path()) || c.type_names.contains(last) {
            return true;
        }
        // Two segments or more.
        let tail = ty.last_two();
        if tail.len() > last.len() && c.type_tails.contains(tail) {
            return true;
        }
        c.type_suffixes.iter().any(|s| last.ends_with(s.as_str()))
    }

    pub fn is_order_dependent(&self, name: &str) -> bool {
        self.ordering.order_dependent.iter().any(|p| name.starts_with(p.as_str()))
    }
}
