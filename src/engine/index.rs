//! The crate index: what one file cannot tell, gathered from every file of a crate after the
//! parallel pass. Names only: which fn / method names are async, which fns are spawned as tasks.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::Diagnostic;

/// Facts one file contributes to its crate's index.
#[derive(Default, Debug)]
pub struct FileFacts {
    /// Every fn and method name declared in the file, and whether it returns a future.
    pub fns: Vec<(String, bool)>,
    /// Names of fns whose future is passed straight to a spawner (`tokio::spawn(run(..))`).
    pub spawned: Vec<String>,
}

/// A finding that holds only if the crate index agrees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The called name is async everywhere the crate declares it (and declared somewhere).
    CalleeIsAsync(String),
    /// Some file of the crate spawns this fn as a task.
    FnIsSpawned(String),
}

#[derive(Debug)]
pub struct Deferred {
    pub condition: Condition,
    pub diagnostic: Diagnostic,
}

#[derive(Default, Debug)]
pub struct CrateIndex {
    /// name -> (declarations returning a future, declarations that do not)
    fns: HashMap<String, (u32, u32)>,
    spawned: HashSet<String>,
}

impl CrateIndex {
    pub fn add(&mut self, facts: &FileFacts) {
        for (name, is_async) in &facts.fns {
            let entry = self.fns.entry(name.clone()).or_default();
            if *is_async {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        self.spawned.extend(facts.spawned.iter().cloned());
    }

    /// Async in one place and sync in another is ambiguous: not async.
    pub fn is_async(&self, name: &str) -> bool {
        self.fns.get(name).is_some_and(|&(async_decls, sync_decls)| async_decls > 0 && sync_decls == 0)
    }

    pub fn holds(&self, condition: &Condition) -> bool {
        match condition {
            Condition::CalleeIsAsync(name) => self.is_async(name),
            Condition::FnIsSpawned(name) => self.spawned.contains(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_both_async_and_sync_is_not_async() {
        let mut index = CrateIndex::default();
        index.add(&FileFacts { fns: vec![("fetch".into(), true), ("send".into(), true)], spawned: vec![] });
        index.add(&FileFacts { fns: vec![("send".into(), false)], spawned: vec!["run".into()] });
        assert!(index.is_async("fetch"));
        assert!(!index.is_async("send"));
        assert!(!index.is_async("missing"));
        assert!(index.holds(&Condition::FnIsSpawned("run".into())));
    }
}
