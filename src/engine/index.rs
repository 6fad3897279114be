//! The crate index: what one file cannot tell, gathered from every file of a crate after the
//! parallel pass. Names only: which fn / method names are async, which fns are spawned as tasks,
//! what types each fn name's parameters have.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::Diagnostic;

/// Facts one file contributes to its crate's index.
#[derive(Default, Debug)]
pub struct FileFacts {
    /// Every fn and method name declared in the file, and whether it returns a future.
    pub fns: Vec<(String, bool)>,
    /// Names of fns whose future is passed straight to a spawner (`tokio::spawn(run(..))`).
    pub spawned: Vec<String>,
    /// Every fn and method declared in the file, with its parameter types.
    pub params: Vec<FnParams>,
}

/// The parameters of one fn or method declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnParams {
    pub name: String,
    /// Takes `self`: it is called as a method.
    pub receiver: bool,
    /// The last segment of each other parameter's type as resolved (through references, `Arc`,
    /// `Rc` and `Box`), or `None` when it is not a path.
    pub types: Vec<Option<String>>,
}

/// A finding that holds only if the crate index agrees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The called name is async everywhere the crate declares it (and declared somewhere).
    CalleeIsAsync(String),
    /// Some file of the crate spawns this fn as a task.
    FnIsSpawned(String),
    /// Every fn the crate declares under this name takes `self` exactly when `method` says, and
    /// its parameter at `index` (not counting `self`) has type `ty` (last segment); there is one.
    ParamHasType { callee: String, method: bool, index: usize, ty: String },
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
    /// name -> every declaration's parameters.
    params: HashMap<String, Vec<FnParams>>,
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
        for f in &facts.params {
            self.params.entry(f.name.clone()).or_default().push(f.clone());
        }
    }

    fn param_has_type(&self, callee: &str, method: bool, index: usize, ty: &str) -> bool {
        self.params.get(callee).is_some_and(|decls| {
            decls.iter().all(|f| f.receiver == method && f.types.get(index).is_some_and(|t| t.as_deref() == Some(ty)))
        })
    }

    /// Async in one place and sync in another is ambiguous: not async.
    pub fn is_async(&self, name: &str) -> bool {
        self.fns.get(name).is_some_and(|&(async_decls, sync_decls)| async_decls > 0 && sync_decls == 0)
    }

    pub fn holds(&self, condition: &Condition) -> bool {
        match condition {
            Condition::CalleeIsAsync(name) => self.is_async(name),
            Condition::FnIsSpawned(name) => self.spawned.contains(name),
            Condition::ParamHasType { callee, method, index, ty } => self.param_has_type(callee, *method, *index, ty),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_both_async_and_sync_is_not_async() {
        let mut index = CrateIndex::default();
        index.add(&FileFacts { fns: vec![("fetch".into(), true), ("send".into(), true)], ..FileFacts::default() });
        index.add(&FileFacts {
            fns: vec![("send".into(), false)],
            spawned: vec!["run".into()],
            ..FileFacts::default()
        });
        assert!(index.is_async("fetch"));
        assert!(!index.is_async("send"));
        assert!(!index.is_async("missing"));
        assert!(index.holds(&Condition::FnIsSpawned("run".into())));
    }

    #[test]
    fn a_param_type_holds_only_if_every_declaration_agrees() {
        let token = |name: &str, receiver| FnParams {
            name: name.into(),
            receiver,
            types: vec![Some("Config".into()), Some("CancellationToken".into())],
        };
        let other = FnParams { name: "start".into(), receiver: true, types: vec![Some("Config".into()), None] };
        let mut index = CrateIndex::default();
        index
            .add(&FileFacts { params: vec![token("run", false), token("start", true), other], ..FileFacts::default() });
        let holds = |callee: &str, method, index_: usize| {
            let ty = "CancellationToken".to_string();
            index.holds(&Condition::ParamHasType { callee: callee.into(), method, index: index_, ty })
        };
        assert!(holds("run", false, 1));
        assert!(!holds("run", true, 1));
        assert!(!holds("run", false, 0));
        assert!(!holds("start", true, 1));
        assert!(!holds("missing", false, 0));
    }
}
