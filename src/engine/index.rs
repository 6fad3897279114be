//! The crate index: what one file cannot tell, gathered from every file of a crate as the files
//! are walked. Names only: which fn / method names are async, which fns are spawned as tasks,
//! what types each fn name's parameters have, which names are used as values, which sync fns
//! block on a future (directly or through each other).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::diagnostic::Diagnostic;

/// Facts one file contributes to its crate's index.
#[derive(Default, Debug)]
pub struct FileFacts {
    /// Every fn and method declared in the file.
    pub fns: Vec<FnDecl>,
    /// Names of fns whose future is passed straight to a spawner (`tokio::spawn(run(..))`).
    pub spawned: Vec<String>,
    /// Names used as values (each once): last segments of paths that are not called
    /// (`get(handler)`, `map(Self::parse)`, `let f = run;`), of fns called without awaiting the
    /// call at once (`spawn(run())`, `|req| handle(req)`), of methods called so on `self`, and
    /// identifiers in macro arguments the walker does not parse.
    pub values: Vec<String>,
}

/// One fn or method declaration, as far as other files need to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnDecl {
    pub name: String,
    /// `async fn`, or returns `impl Future` / `BoxFuture` (not a `#[tokio::main]` fn).
    pub returns_future: bool,
    /// Returns a future whose output is a `Result` (`async fn f() -> io::Result<()>`,
    /// `impl Future<Output = Result<..>>`, `BoxFuture<'_, Result<..>>`), by the type's last name.
    pub returns_result: bool,
    /// Takes `self`: it is called as a method.
    pub receiver: bool,
    /// The last segment of each other parameter's type as resolved (through references, `Arc`,
    /// `Rc` and `Box`) when it is a cancellation type, else `None`; empty when none is.
    pub param_types: Vec<Option<String>>,
    /// Hands a parameter to an offload function or method (`spawn_blocking(f)`): a closure
    /// passed to it may run on another thread.
    pub offloads: bool,
    /// A sync fn only: the first blocking executor entry point (`block_on`) its own sync code
    /// calls, not counting async blocks, closures passed to offload functions and nested fns.
    pub block_on: Option<BlockOn>,
    /// A sync fn only: also calls `block_on` in a closure it hands to an offload function
    /// (`block_in_place(|| handle.block_on(f))`): a wrapper that knows whether it runs on an
    /// executor, whose own `block_on` is for callers outside one. It never counts as blocking.
    pub offloads_block_on: bool,
    /// A sync fn only: the names of the crate's own fns and methods its own sync code calls
    /// (`helper()`, `Self::helper()`, `self.helper()`), each once.
    pub calls: Vec<String>,
}

/// Where a sync fn calls `block_on`, for the note of a finding in another fn or file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOn {
    /// As the message of a direct finding names it: `futures::executor::block_on`, `.block_on`.
    pub call: String,
    /// The file; set when the file's facts are added to the index (`CrateIndex::add_file`).
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    pub column: usize,
}

/// A finding that holds only if the crate index agrees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The called name is async everywhere the crate declares it (and declared somewhere).
    CalleeIsAsync(String),
    /// The called name returns a future of a `Result` everywhere the crate declares it (and it is
    /// declared somewhere).
    CalleeReturnsResult(String),
    /// Some file of the crate spawns this fn as a task.
    FnIsSpawned(String),
    /// Every fn the crate declares under this name takes `self` exactly when `method` says, and
    /// its parameter at `index` (not counting `self`) has type `ty` (last segment); there is one.
    ParamHasType {
        callee: String,
        method: bool,
        index: usize,
        ty: String,
    },
    /// No fn or method the crate declares under this name hands a parameter to an offload
    /// function: a closure passed to it runs where it is written.
    CalleeDoesNotOffload(String),
    /// No file of the crate uses this name as a value (see `FileFacts::values`).
    NotUsedAsValue(String),
    /// Exactly one fn or method the crate declares under this name returns a future: no other
    /// type or `cfg` variant has an async fn of that name whose signature it may mirror.
    SingleAsyncDecl(String),
    /// Every fn or method the crate declares under this name is a sync fn that calls `block_on`,
    /// or calls a name of which this holds (and there is one).
    BlocksOn(String),
    /// Every one of these holds.
    All(Vec<Condition>),
    Not(Box<Condition>),
}

#[derive(Debug)]
pub struct Deferred {
    pub condition: Condition,
    pub diagnostic: Diagnostic,
}

/// A crate's facts, folded per name as each file's arrive (on the worker threads), into only what
/// the conditions ask: the index grows with the crate's distinct names, not with its fns.
#[derive(Default, Debug)]
pub struct CrateIndex {
    fns: HashMap<Box<str>, Declared>,
    spawned: HashSet<Box<str>>,
    values: HashSet<Box<str>>,
    /// The names of which `BlocksOn` holds, and why; computed on first use.
    blocking: OnceLock<HashMap<Box<str>, Blocks>>,
}

/// Every declaration of one name, folded together (declarations in the order they were added).
#[derive(Debug)]
struct Declared {
    count: u32,
    /// How many return a future; of those, how many a future of a `Result`.
    futures: u32,
    result_futures: u32,
    /// Some declaration offloads.
    offloads: bool,
    /// The parameter types every declaration agrees on; `None` when there is none.
    signature: Option<Box<Signature>>,
    /// What the `BlocksOn` fixed point needs, while every declaration may block (see `MayBlock`).
    may_block: Option<Box<MayBlock>>,
}

/// The common ground of every declaration of a name: they all take `self` or all do not, and at
/// each index where `params` has a type, every one's parameter has that type.
#[derive(Debug, PartialEq, Eq)]
struct Signature {
    receiver: bool,
    params: Vec<Option<Box<str>>>,
}

/// The declarations of a name that are each a sync fn calling `block_on` or some of the crate's
/// fns (and not wrapping its `block_on` in an offload).
#[derive(Debug)]
struct MayBlock {
    /// The first declaration's `block_on`: the reason a finding's note gives.
    first_block_on: Option<BlockOn>,
    /// What each declaration that does not call `block_on` itself calls, the first declaration's
    /// first. A declaration that calls `block_on` blocks whatever it calls.
    calls: Vec<Box<[Box<str>]>>,
}

/// Why every declaration of a name blocks: what its first declaration calls.
#[derive(Debug)]
enum Blocks {
    Directly(BlockOn),
    /// Through this other blocking name.
    Calls(Box<str>),
}

impl Declared {
    fn new(decl: FnDecl) -> Declared {
        let params = decl.param_types.into_iter().map(|t| t.map(Box::from)).collect();
        let signature = Some(Box::new(Signature { receiver: decl.receiver, params })).filter(|s| s.has_types());
        let may_block =
            !decl.returns_future && !decl.offloads_block_on && (decl.block_on.is_some() || !decl.calls.is_empty());
        let may_block = may_block.then(|| {
            let calls = decl.calls.into_iter().map(Box::from).collect();
            let calls = if decl.block_on.is_some() { Vec::new() } else { vec![calls] };
            Box::new(MayBlock { first_block_on: decl.block_on, calls })
        });
        Declared {
            count: 1,
            futures: decl.returns_future.into(),
            result_futures: (decl.returns_future && decl.returns_result).into(),
            offloads: decl.offloads,
            signature,
            may_block,
        }
    }

    /// Folds in the declarations of `later`, added after this one's.
    fn merge(&mut self, later: Declared) {
        self.count += later.count;
        self.futures += later.futures;
        self.result_futures += later.result_futures;
        self.offloads |= later.offloads;
        self.signature = match (self.signature.take(), later.signature) {
            (Some(mut signature), Some(later)) if signature.receiver == later.receiver => {
                for (i, ty) in signature.params.iter_mut().enumerate() {
                    if later.params.get(i) != Some(ty) {
                        *ty = None;
                    }
                }
                Some(signature).filter(|s| s.has_types())
            }
            _ => None,
        };
        self.may_block = match (self.may_block.take(), later.may_block) {
            (Some(mut may_block), Some(later)) => {
                may_block.calls.extend(later.calls);
                Some(may_block)
            }
            _ => None,
        };
    }
}

impl Signature {
    fn has_types(&self) -> bool {
        self.params.iter().any(Option::is_some)
    }
}

impl CrateIndex {
    /// Adds the facts of the file at `path`, the path the notes of findings give.
    pub fn add_file(&mut self, path: &Path, mut facts: FileFacts) {
        for block_on in facts.fns.iter_mut().filter_map(|d| d.block_on.as_mut()) {
            block_on.path = path.to_path_buf();
        }
        self.add(facts);
    }

    pub fn add(&mut self, facts: FileFacts) {
        self.blocking.take();
        for decl in facts.fns {
            self.add_declared(Box::from(decl.name.as_str()), Declared::new(decl));
        }
        self.spawned.extend(facts.spawned.into_iter().map(Box::from));
        self.values.extend(facts.values.into_iter().map(Box::from));
    }

    /// Folds in the index of files added after this one's (for a parallel fold over a crate's
    /// files, which keeps their order).
    pub fn merge(&mut self, later: CrateIndex) {
        self.blocking.take();
        for (name, declared) in later.fns {
            self.add_declared(name, declared);
        }
        self.spawned.extend(later.spawned);
        self.values.extend(later.values);
    }

    fn add_declared(&mut self, name: Box<str>, declared: Declared) {
        match self.fns.entry(name) {
            Entry::Occupied(mut earlier) => earlier.get_mut().merge(declared),
            Entry::Vacant(entry) => {
                entry.insert(declared);
            }
        }
    }

    /// Async in one place and sync in another is ambiguous: not async.
    pub fn is_async(&self, name: &str) -> bool {
        self.fns.get(name).is_some_and(|d| d.futures == d.count)
    }

    /// Every declaration of `callee` takes `self` exactly when `method` says, and its parameter
    /// at `index` has type `ty`.
    fn param_has_type(&self, callee: &str, method: bool, index: usize, ty: &str) -> bool {
        let signature = self.fns.get(callee).and_then(|d| d.signature.as_deref());
        signature.is_some_and(|s| s.receiver == method && s.params.get(index).is_some_and(|t| t.as_deref() == Some(ty)))
    }

    pub fn holds(&self, condition: &Condition) -> bool {
        match condition {
            Condition::CalleeIsAsync(name) => self.is_async(name),
            Condition::CalleeReturnsResult(name) => {
                self.fns.get(name.as_str()).is_some_and(|d| d.result_futures == d.count)
            }
            Condition::FnIsSpawned(name) => self.spawned.contains(name.as_str()),
            Condition::ParamHasType { callee, method, index, ty } => self.param_has_type(callee, *method, *index, ty),
            Condition::CalleeDoesNotOffload(name) => !self.fns.get(name.as_str()).is_some_and(|d| d.offloads),
            Condition::NotUsedAsValue(name) => !self.values.contains(name.as_str()),
            Condition::SingleAsyncDecl(name) => self.fns.get(name.as_str()).is_some_and(|d| d.futures == 1),
            Condition::BlocksOn(name) => self.blocking().contains_key(name.as_str()),
            Condition::All(conditions) => conditions.iter().all(|c| self.holds(c)),
            Condition::Not(condition) => !self.holds(condition),
        }
    }

    /// A note for a finding whose condition holds, when the reader needs one to see why:
    /// for `BlocksOn`, the chain of calls down to the `block_on` and where it is.
    pub fn note_for(&self, condition: &Condition) -> Option<String> {
        match condition {
            Condition::BlocksOn(name) => {
                let blocking = self.blocking();
                let mut note = format!("`{name}` calls ");
                let mut current = name.as_str();
                // Each name blocks through one found blocking in an earlier round: no cycles.
                loop {
                    match blocking.get(current)? {
                        Blocks::Calls(next) => {
                            note.push_str(&format!("`{next}`, which calls "));
                            current = next;
                        }
                        Blocks::Directly(at) => {
                            let path = at.path.display();
                            note.push_str(&format!("`{}` at {path}:{}:{}", at.call, at.line, at.column));
                            return Some(note);
                        }
                    }
                }
            }
            Condition::All(conditions) => conditions.iter().find_map(|c| self.note_for(c)),
            _ => None,
        }
    }

    /// The names every declaration of which blocks, as the least fixed point: in each round, a
    /// name blocks if each of its declarations is a sync fn that calls `block_on` or a name found
    /// in an earlier round. Recursion alone never blocks, and the reasons do not depend on the
    /// order of a hash map.
    fn blocking(&self) -> &HashMap<Box<str>, Blocks> {
        self.blocking.get_or_init(|| {
            let candidates: Vec<(&Box<str>, &MayBlock)> =
                self.fns.iter().filter_map(|(name, d)| Some((name, d.may_block.as_deref()?))).collect();
            let mut blocking: HashMap<Box<str>, Blocks> = HashMap::default();
            loop {
                let blocks = |calls: &[Box<str>]| calls.iter().any(|c| blocking.contains_key(c));
                let reason = |may_block: &MayBlock| match &may_block.first_block_on {
                    Some(at) => Some(Blocks::Directly(at.clone())),
                    None => {
                        may_block.calls[0].iter().find(|c| blocking.contains_key(*c)).map(|c| Blocks::Calls(c.clone()))
                    }
                };
                let found: Vec<(Box<str>, Blocks)> = candidates
                    .iter()
                    .filter(|(name, may_block)| {
                        !blocking.contains_key(*name) && may_block.calls.iter().all(|c| blocks(c))
                    })
                    .filter_map(|(name, may_block)| Some(((*name).clone(), reason(may_block)?)))
                    .collect();
                if found.is_empty() {
                    return blocking;
                }
                blocking.extend(found);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(name: &str, returns_future: bool, receiver: bool, param_types: &[Option<&str>]) -> FnDecl {
        let param_types = param_types.iter().map(|t| t.map(String::from)).collect();
        FnDecl {
            name: name.into(),
            returns_future,
            returns_result: false,
            receiver,
            param_types,
            offloads: false,
            block_on: None,
            offloads_block_on: false,
            calls: Vec::new(),
        }
    }

    #[test]
    fn a_name_both_async_and_sync_is_not_async() {
        let mut index = CrateIndex::default();
        let fns = vec![decl("fetch", true, false, &[]), decl("send", true, true, &[])];
        index.add(FileFacts { fns, ..FileFacts::default() });
        let values = vec!["handler".into()];
        index.add(FileFacts { fns: vec![decl("send", false, true, &[])], spawned: vec!["run".into()], values });
        assert!(index.is_async("fetch"));
        assert!(!index.is_async("send"));
        assert!(!index.is_async("missing"));
        assert!(index.holds(&Condition::FnIsSpawned("run".into())));
        assert!(!index.holds(&Condition::NotUsedAsValue("handler".into())));
        assert!(index.holds(&Condition::NotUsedAsValue("run".into())));
        assert!(index.holds(&Condition::SingleAsyncDecl("fetch".into())));
        assert!(index.holds(&Condition::SingleAsyncDecl("send".into())));
        assert!(!index.holds(&Condition::SingleAsyncDecl("missing".into())));
        let fetch = || Condition::SingleAsyncDecl("fetch".into());
        assert!(index.holds(&Condition::All(vec![fetch(), Condition::NotUsedAsValue("fetch".into())])));
        assert!(!index.holds(&Condition::All(vec![fetch(), Condition::NotUsedAsValue("handler".into())])));
        assert!(!index.holds(&Condition::Not(Box::new(fetch()))));
        index.add(FileFacts { fns: vec![decl("fetch", true, false, &[])], ..FileFacts::default() });
        assert!(!index.holds(&fetch()));
    }

    #[test]
    fn a_callee_returns_result_only_if_every_declaration_does() {
        let result = |name: &str, returns_result| FnDecl { returns_result, ..decl(name, true, false, &[]) };
        let mut index = CrateIndex::default();
        let fns =
            vec![result("save", true), result("load", true), result("load", false), decl("sync", false, false, &[])];
        index.add(FileFacts { fns, ..FileFacts::default() });
        let holds = |name: &str| index.holds(&Condition::CalleeReturnsResult(name.into()));
        assert!(holds("save"));
        assert!(!holds("load"));
        assert!(!holds("sync"));
        assert!(!holds("missing"));
    }

    #[test]
    fn a_param_type_holds_only_if_every_declaration_agrees() {
        let types = [Some("Config"), Some("CancellationToken")];
        let fns = vec![
            decl("run", true, false, &types),
            decl("start", true, true, &types),
            decl("start", true, true, &[Some("Config"), None]),
        ];
        let mut index = CrateIndex::default();
        index.add(FileFacts { fns, ..FileFacts::default() });
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

    #[test]
    fn a_callee_offloads_if_any_declaration_does() {
        let mut index = CrateIndex::default();
        let offloading = FnDecl { offloads: true, ..decl("asyncify", true, false, &[None]) };
        index.add(FileFacts {
            fns: vec![offloading, decl("asyncify", false, true, &[None]), decl("retry", false, false, &[None])],
            ..FileFacts::default()
        });
        assert!(!index.holds(&Condition::CalleeDoesNotOffload("asyncify".into())));
        assert!(index.holds(&Condition::CalleeDoesNotOffload("retry".into())));
        assert!(index.holds(&Condition::CalleeDoesNotOffload("missing".into())));
    }

    #[test]
    fn a_name_blocks_if_every_declaration_blocks_directly_or_through_a_blocking_name() {
        let at = |line| BlockOn { call: "futures::executor::block_on".into(), path: PathBuf::new(), line, column: 5 };
        let sync = |name: &str, block_on: Option<BlockOn>, calls: &[&str]| FnDecl {
            block_on,
            calls: calls.iter().map(|c| c.to_string()).collect(),
            ..decl(name, false, false, &[])
        };
        let fns = vec![
            sync("wait", Some(at(3)), &[]),
            sync("helper", None, &["log", "wait"]),
            sync("outer", None, &["helper"]),
            sync("run", Some(at(9)), &[]),
            sync("run", None, &["log"]),
            sync("fetch", None, &["wait"]),
            decl("fetch", true, false, &[]),
            sync("ping", None, &["pong"]),
            sync("pong", None, &["ping"]),
            sync("again", None, &["again"]),
            sync("cycle", None, &["cycle", "outer"]),
            FnDecl { offloads_block_on: true, ..sync("aware", Some(at(20)), &[]) },
            sync("uses_aware", None, &["aware"]),
        ];
        let mut index = CrateIndex::default();
        index.add_file(Path::new("src/lib.rs"), FileFacts { fns, ..FileFacts::default() });
        let blocks = |name: &str| index.holds(&Condition::BlocksOn(name.into()));
        assert!(blocks("wait") && blocks("helper") && blocks("outer") && blocks("cycle"));
        assert!(!blocks("run"), "one `run` does not block");
        assert!(!blocks("fetch"), "one `fetch` is async");
        assert!(!blocks("aware") && !blocks("uses_aware"), "it knows when it runs on an executor");
        assert!(!blocks("ping") && !blocks("pong") && !blocks("again") && !blocks("log") && !blocks("missing"));
        let note = |name: &str| index.note_for(&Condition::BlocksOn(name.into()));
        assert_eq!(note("wait").unwrap(), "`wait` calls `futures::executor::block_on` at src/lib.rs:3:5");
        assert_eq!(
            note("cycle").unwrap(),
            "`cycle` calls `outer`, which calls `helper`, which calls `wait`, which calls \
             `futures::executor::block_on` at src/lib.rs:3:5"
        );
        assert_eq!(note("run"), None);
        let both = Condition::All(vec![Condition::NotUsedAsValue("x".into()), Condition::BlocksOn("helper".into())]);
        assert!(index.note_for(&both).unwrap().starts_with("`helper` calls `wait`"));
    }

    #[test]
    fn indexes_of_consecutive_files_merge_as_if_added_in_order() {
        let at = |line| BlockOn { call: ".block_on".into(), path: PathBuf::new(), line, column: 1 };
        let sync = |name: &str, block_on: Option<BlockOn>, calls: &[&str]| FnDecl {
            block_on,
            calls: calls.iter().map(|c| c.to_string()).collect(),
            ..decl(name, false, false, &[])
        };
        let (ty, token) = ("CancellationToken", Some("CancellationToken"));
        let first = vec![
            sync("wait", Some(at(1)), &[]),
            sync("helper", None, &["log", "wait"]),
            decl("run", true, true, &[token, token]),
            decl("fetch", true, false, &[]),
        ];
        let second = vec![
            sync("wait", Some(at(2)), &[]),
            sync("helper", Some(at(3)), &[]),
            decl("run", true, true, &[None, token]),
            decl("fetch", false, false, &[]),
        ];
        let mut merged = CrateIndex::default();
        merged.add_file(Path::new("a.rs"), FileFacts { fns: first, ..FileFacts::default() });
        let mut later = CrateIndex::default();
        later.add_file(Path::new("b.rs"), FileFacts { fns: second, values: vec!["x".into()], ..FileFacts::default() });
        merged.merge(later);
        let param = |index| Condition::ParamHasType { callee: "run".into(), method: true, index, ty: ty.into() };
        assert!(!merged.holds(&param(0)), "the second `run` takes no token first");
        assert!(merged.holds(&param(1)));
        assert!(!merged.is_async("fetch"));
        assert!(merged.holds(&Condition::SingleAsyncDecl("fetch".into())));
        assert!(!merged.holds(&Condition::NotUsedAsValue("x".into())));
        let note = |name: &str| merged.note_for(&Condition::BlocksOn(name.into())).unwrap();
        assert_eq!(note("wait"), "`wait` calls `.block_on` at a.rs:1:1", "the first declaration's");
        assert_eq!(note("helper"), "`helper` calls `wait`, which calls `.block_on` at a.rs:1:1");
    }
}
