//! The API lists the rules match against. They live as data in `rules/*.toml`, embedded in the
//! binary, so adding an API is a one-line change that needs no Rust.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Deserialize;

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Macros {
    pub never_await: HashSet<String>,
}

#[derive(Debug)]
pub struct Catalog {
    pub executors: Executors,
    pub cancellation: Cancellation,
    pub ordering: Ordering,
    pub macros: Macros,
}

/// The embedded data files, by name, for tests and error messages.
pub const SOURCES: &[(&str, &str)] = &[
    ("rules/executors.toml", include_str!("../rules/executors.toml")),
    ("rules/cancellation.toml", include_str!("../rules/cancellation.toml")),
    ("rules/ordering.toml", include_str!("../rules/ordering.toml")),
    ("rules/macros.toml", include_str!("../rules/macros.toml")),
];

impl Catalog {
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::parse().unwrap_or_else(|e| panic!("embedded catalog: {e}")))
    }

    pub fn parse() -> Result<Catalog, String> {
        fn load<T: serde::de::DeserializeOwned>(index: usize) -> Result<T, String> {
            let (name, text) = SOURCES[index];
            toml::from_str(text).map_err(|e| format!("{name}: {e}"))
        }
        Ok(Catalog { executors: load(0)?, cancellation: load(1)?, ordering: load(2)?, macros: load(3)? })
    }

    /// `segments` is a resolved type path: is it a cancellation input?
    pub fn is_cancellation_type(&self, segments: &[String]) -> bool {
        let c = &self.cancellation;
        let Some(last) = segments.last() else {
            return false;
        };
        if c.types.contains(&segments.join("::")) || c.type_names.contains(last) {
            return true;
        }
        if segments.len() >= 2 {
            let tail = format!("{}::{}", segments[segments.len() - 2], last);
            if c.type_tails.contains(&tail) {
                return true;
            }
        }
        c.type_suffixes.iter().any(|s| last.ends_with(s.as_str()))
    }

    pub fn is_order_dependent(&self, name: &str) -> bool {
        self.ordering.order_dependent.iter().any(|p| name.starts_with(p.as_str()))
    }
}
