//! Name resolution through a file's `use` items, items and local bindings, innermost scope first.
//! This is what lets a rule match `tokio::task::spawn` however it is written, and never match a
//! local `fn block_on` that merely shares a name.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::ops::Range;

use syn::{Item, Pat, Stmt, Type, UseTree};

/// Where a resolved path points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Another crate: the path is the full path from its crate name (`tokio::task::spawn`).
    External,
    /// An item of the crate being checked (`crate::`, `super::`, `Self::`, or declared in a
    /// scope that is visible here).
    Crate,
    /// A local variable or parameter.
    Local,
    /// Nothing visible says: a prelude item, a type of unknown origin, a glob import.
    Unknown,
}

/// A resolved path, kept as its segments joined with `::` (`tokio::task::spawn`): that is how it
/// is looked up in the catalog, and one `String` is one allocation where a `Vec` of segments was
/// one per segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub origin: Origin,
    path: String,
}

impl Resolved {
    pub fn is_external(&self) -> bool {
        self.origin == Origin::External
    }

    /// The segments joined with `::`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `path()` as an owned string.
    pub fn joined(&self) -> String {
        self.path.clone()
    }

    fn first(&self) -> &str {
        &self.path[..first_segment_len(&self.path)]
    }

    pub fn last(&self) -> &str {
        last_segment(&self.path)
    }

    /// The last two segments (`CancellationToken::new`), or all of a shorter path.
    pub fn last_two(&self) -> &str {
        match parent(&self.path) {
            "" => &self.path,
            parent => &self.path[parent.len() - last_segment(parent).len()..],
        }
    }

    /// Drops the last segment: `Mutex::new` -> `Mutex`.
    pub fn pop(&mut self) {
        self.path.truncate(parent(&self.path).len());
    }

    /// May this be an fn or method of the crate being checked: declared in it, or of unknown
    /// origin and not an item of the std prelude (`Vec::new`, `Some`, `drop`), which no `use`
    /// names?
    pub fn may_be_own(&self) -> bool {
        const PRELUDE: &[&str] = &["Vec", "String", "Box", "Option", "Result", "Some", "None", "Ok", "Err", "drop"];
        let prelude = PRELUDE.contains(&self.first());
        matches!(self.origin, Origin::Crate | Origin::Unknown) && !prelude
    }

    /// Is this the external item `path` (`"tokio::spawn"`)?
    pub fn is_in(&self, paths: &HashSet<String>) -> bool {
        self.is_external() && paths.contains(&self.path)
    }
}

/// A local variable or parameter, with its type when the code states it.
#[derive(Clone, Debug)]
pub struct Binding {
    pub name: String,
    pub ty: Option<Resolved>,
    /// `let mut x`, `mut x: T`, `&mut self`: calls through it may need exclusive access.
    pub mutable: bool,
    /// A parameter of the fn or closure, not a local variable.
    pub param: bool,
    /// How a `let` that states no type made the value (for a destructuring pattern, the value
    /// destructured): `let child = Command::new("ls").spawn()?;`.
    pub init: Option<Chain>,
    /// Where the value comes from, when the code shows it.
    pub source: Option<Source>,
}

/// A value made by a call or named by a path, then passed through method calls, looking through
/// `?`, `.await`, `&` and parentheses: `Command::new("ls").arg("-l").spawn()?` is the call of
/// `std::process::Command::new`, then `arg`, then `spawn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The callee (`File::open(p)`) or the path (`listener`) the chain starts from, resolved where
    /// the chain is written.
    pub root: Resolved,
    /// The root is called, not just named.
    pub called: bool,
    /// The methods called on it, in order.
    pub methods: Vec<String>,
}

/// The expression a local variable's value comes from, as a byte range of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `let x = <expr>;` (a plain name pattern only).
    Init(Range<usize>),
    /// `for x in <expr>`, `for (i, x) in <expr>`: an item of `expr`, or part of one.
    Item(Range<usize>),
}

/// Marks a path written with a leading `::` (`::tokio::spawn`), which always names a crate. It is
/// the first segment of such a path, so joined it reads `::::tokio::spawn`; no other segment is
/// empty or holds `::`, so a joined path that starts with `::` starts with this marker.
const ROOT: &str = "::";

// A `:` in a joined path is one of a `::` separator (or of `ROOT`), so the helpers below find
// separators by looking for that byte: paths are short, and a plain loop over a few bytes costs less
// than setting up `memchr` (let alone a searcher for the pattern `"::"`).

fn first_colon(path: &str) -> Option<usize> {
    path.bytes().position(|b| b == b':')
}

fn last_colon(path: &str) -> Option<usize> {
    path.bytes().rposition(|b| b == b':')
}

/// A path's first segment and the rest of it (empty for a one-segment path), or `None` for the
/// empty path.
fn split_first(path: &str) -> Option<(&str, &str)> {
    if path.is_empty() {
        return None;
    }
    let first_len = first_segment_len(path);
    Some((&path[..first_len], rest_after(path, first_len)))
}

/// The length of a joined path's first segment (`ROOT` for a leading `::`).
fn first_segment_len(path: &str) -> usize {
    if path.starts_with(ROOT) {
        return ROOT.len();
    }
    first_colon(path).unwrap_or(path.len())
}

/// What follows the first segment, `first_len` bytes long, and the `::` after it.
fn rest_after(path: &str, first_len: usize) -> &str {
    let rest = &path[first_len..];
    rest.strip_prefix("::").unwrap_or(rest)
}

fn last_segment(path: &str) -> &str {
    last_colon(path).map_or(path, |i| &path[i + 1..])
}

/// All segments but the last.
fn parent(path: &str) -> &str {
    last_colon(path).map_or("", |i| &path[..i - 1])
}

/// What a scope declares under one name.
#[derive(Default, Debug)]
struct Declared {
    /// The path a `use` or `extern crate` makes the name stand for (the last one, if several).
    target: Option<String>,
    /// An item of that name is declared here.
    item: bool,
}

#[derive(Default, Debug)]
struct Scope {
    /// Names brought in by `use` items and names of items, in one map: a lookup per scope.
    declared: HashMap<String, Declared>,
    /// The paths of glob imports, joined.
    globs: Vec<String>,
    bindings: Vec<Binding>,
    /// Field name -> the declared type of every struct field of that name declared in this scope
    /// (`None`: not a path type), for `self.state.lock()`.
    fields: HashMap<String, Vec<Option<Resolved>>>,
    /// `static` and `const` item name -> its declared type.
    item_types: HashMap<String, Option<Resolved>>,
    /// The parameters of an fn item: bindings of the scopes around it are not visible inside.
    fn_boundary: bool,
}

/// What a scope makes of a name it declares.
enum Declaration<'n> {
    /// A local variable or parameter.
    Local,
    /// An item declared in the crate.
    Item,
    /// A name brought in by `use` or `extern crate`: the joined path it stands for.
    Use(&'n str),
    /// No visible scope declares the name.
    None,
}

#[derive(Default, Debug)]
pub struct Names {
    scopes: Vec<Scope>,
    /// Where `origin_and_last` resolves, kept to spare an allocation per path.
    scratch: String,
}

impl Names {
    /// Enters a module or file: its `use` items and item names are visible everywhere in it.
    pub fn push_items<'a>(&mut self, items: impl IntoIterator<Item = &'a Item>) {
        let items: Vec<&Item> = items.into_iter().collect();
        // Most items declare one name (`use` groups more, `impl` blocks none): sized for that,
        // the map seldom grows while it is filled.
        let declared = HashMap::with_capacity_and_hasher(items.len(), Default::default());
        let mut scope = Scope { declared, ..Scope::default() };
        for item in &items {
            scope.add_item(item);
        }
        self.scopes.push(scope);
        // Declared types are resolved with this scope's `use` items in view.
        let mut fields: HashMap<String, Vec<Option<Resolved>>> = HashMap::default();
        let mut item_types = HashMap::default();
        for item in items {
            match item {
                Item::Struct(s) => {
                    for (i, field) in s.fields.iter().enumerate() {
                        let name = field.ident.as_ref().map_or_else(|| i.to_string(), |f| f.to_string());
                        fields.entry(name).or_default().push(self.resolve_type(&field.ty));
                    }
                }
                Item::Static(s) => {
                    item_types.insert(s.ident.to_string(), self.resolve_type(&s.ty));
                }
                Item::Const(c) => {
                    item_types.insert(c.ident.to_string(), self.resolve_type(&c.ty));
                }
                _ => {}
            }
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.fields = fields;
            scope.item_types = item_types;
        }
    }

    /// Enters a block: items declared anywhere in it are visible in all of it.
    pub fn push_block(&mut self, stmts: &[Stmt]) {
        self.push_items(stmts.iter().filter_map(|s| match s {
            Stmt::Item(item) => Some(item),
            _ => None,
        }));
    }

    /// Enters a scope that only holds bindings (closure or fn parameters, loop patterns).
    pub fn push_bindings(&mut self) {
        self.scopes.push(Scope::default());
    }

    /// Enters an fn item: the local variables of an fn around it are out of reach.
    pub fn push_fn(&mut self) {
        self.scopes.push(Scope { fn_boundary: true, ..Scope::default() });
    }

    pub fn pop(&mut self) {
        self.scopes.pop();
    }

    pub fn bind(&mut self, binding: Binding) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.bindings.push(binding);
        }
    }

    /// Binds every identifier a pattern introduces; `ty` only for a plain `name` pattern.
    pub fn bind_pat(&mut self, pat: &Pat, ty: Option<Resolved>) {
        // `let x: T = ..`, `|x: T|`: the caller read the type from the annotation.
        let pat = match pat {
            Pat::Type(typed) => &*typed.pat,
            pat => pat,
        };
        if let Pat::Ident(p) = pat {
            if p.subpat.is_none() {
                let mutable = p.mutability.is_some();
                return self.bind(Binding {
                    name: p.ident.to_string(),
                    ty,
                    mutable,
                    param: false,
                    init: None,
                    source: None,
                });
            }
        }
        let mut names = Vec::new();
        pat_idents(pat, &mut names);
        for name in names {
            self.bind(Binding { name, ty: None, mutable: false, param: false, init: None, source: None });
        }
    }

    /// Binds a pattern like `bind_pat`, then lets `annotate` add what else is known of each name
    /// it bound (a parameter, how a `let` made the value, where it comes from).
    pub fn bind_pat_with(&mut self, pat: &Pat, ty: Option<Resolved>, annotate: impl Fn(&mut Binding)) {
        let before = self.scopes.last().map_or(0, |s| s.bindings.len());
        self.bind_pat(pat, ty);
        if let Some(scope) = self.scopes.last_mut() {
            scope.bindings[before..].iter_mut().for_each(annotate);
        }
    }

    /// A `&mut T` parameter: calls through it need exclusive access like a `mut` binding.
    pub fn mark_mutable(&mut self, name: &str) {
        let latest = self.scopes.iter_mut().rev().flat_map(|s| s.bindings.iter_mut().rev()).find(|b| b.name == name);
        if let Some(binding) = latest {
            binding.mutable = true;
        }
    }

    /// `expr` as a chain of method calls on a call or a path, resolved here.
    pub fn chain(&self, expr: &syn::Expr) -> Option<Chain> {
        use syn::Expr;
        let mut methods = Vec::new();
        let mut expr = super::syntax::peel(expr);
        let (root, called) = loop {
            match expr {
                Expr::Try(e) => expr = &e.expr,
                Expr::Await(e) => expr = &e.base,
                Expr::Reference(e) => expr = &e.expr,
                Expr::MethodCall(call) => {
                    methods.push(call.method.to_string());
                    expr = &call.receiver;
                }
                Expr::Call(call) => match super::syntax::peel(&call.func) {
                    Expr::Path(p) if p.qself.is_none() => break (self.resolve(&p.path), true),
                    _ => return None,
                },
                Expr::Path(p) if p.qself.is_none() => break (self.resolve(&p.path), false),
                _ => return None,
            }
            expr = super::syntax::peel(expr);
        };
        methods.reverse();
        Some(Chain { root, called, methods })
    }

    pub fn binding(&self, name: &str) -> Option<&Binding> {
        self.bindings().find(|b| b.name == name)
    }

    /// Visible bindings, innermost (latest) first.
    pub fn bindings(&self) -> impl Iterator<Item = &Binding> {
        self.binding_scopes().flat_map(|s| s.bindings.iter().rev())
    }

    /// Scopes whose bindings are visible: up to the innermost fn item's parameters.
    fn binding_scopes(&self) -> impl Iterator<Item = &Scope> {
        let mut past_boundary = false;
        self.scopes.iter().rev().take_while(move |s| !std::mem::replace(&mut past_boundary, s.fn_boundary))
    }

    /// The declared types of the struct fields named `name` (`"0"` for a tuple field) in the
    /// scopes visible here, one per declaration (`None`: not a path type). Without types there is
    /// no telling which struct a field access reaches, so callers should want them all to agree.
    pub fn field_types(&self, name: &str) -> Vec<Option<&Resolved>> {
        self.scopes.iter().filter_map(|s| s.fields.get(name)).flatten().map(Option::as_ref).collect()
    }

    /// The declared type of the `static` or `const` item `name`, innermost scope first, unless a
    /// local binding or another item shadows it.
    pub fn item_type(&self, name: &str) -> Option<&Resolved> {
        if self.binding(name).is_some() {
            return None;
        }
        let scope = self.scopes.iter().rev().find(|s| s.declared.contains_key(name))?;
        scope.item_types.get(name)?.as_ref()
    }

    /// A declared type, seen through references and smart pointers (`&Arc<Mutex<T>>` -> `Mutex`).
    pub fn resolve_type(&self, ty: &Type) -> Option<Resolved> {
        match ty {
            Type::Reference(r) => self.resolve_type(&r.elem),
            Type::Paren(p) => self.resolve_type(&p.elem),
            Type::Group(g) => self.resolve_type(&g.elem),
            Type::Path(p) if p.qself.is_none() => {
                let last = p.path.segments.last()?;
                if matches!(last.ident.to_string().as_str(), "Arc" | "Rc" | "Box") {
                    if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                        if let Some(syn::GenericArgument::Type(inner)) = args.args.first() {
                            return self.resolve_type(inner);
                        }
                    }
                }
                Some(self.resolve(&p.path))
            }
            _ => None,
        }
    }

    pub fn resolve(&self, path: &syn::Path) -> Resolved {
        let (mut joined, first_len) = match (&path.leading_colon, path.segments.first()) {
            // Most paths are one name: `to_string` makes it without `write!`'s formatting machinery.
            (None, Some(first)) if path.segments.len() == 1 => {
                let name = first.ident.to_string();
                let len = name.len();
                (name, len)
            }
            _ => {
                // Room for most paths, so that writing the segments does not grow it.
                let mut joined = String::with_capacity(32);
                let first_len = push_path(&mut joined, path);
                (joined, first_len)
            }
        };
        let origin = self.resolve_in_place(&mut joined, first_len);
        Resolved { origin, path: joined }
    }

    /// A one-segment path: a name.
    pub fn resolve_name(&self, name: &str) -> Resolved {
        let mut path = name.to_string();
        let origin = self.resolve_in_place(&mut path, first_segment_len(name));
        Resolved { origin, path }
    }

    /// Where `path` points and the last segment of what it resolves to, which may differ from the
    /// one written (`use handlers::index as home;` then `home`). Resolved in a buffer kept for
    /// the purpose: a path expression is resolved at every use of a variable, and most are
    /// looked at and dropped.
    pub fn origin_and_last(&mut self, path: &syn::Path) -> (Origin, &str) {
        let mut joined = std::mem::take(&mut self.scratch);
        joined.clear();
        let first_len = push_path(&mut joined, path);
        let origin = self.resolve_in_place(&mut joined, first_len);
        self.scratch = joined;
        (origin, last_segment(&self.scratch))
    }

    /// Resolves the joined `path` (see `ROOT` for a leading `::`) where it is: a `use` target
    /// replaces the first segment in place. `first_len` is the length of that first segment,
    /// known to whoever wrote the path, so it is not searched for again.
    fn resolve_in_place(&self, path: &mut String, mut first_len: usize) -> Origin {
        let mut depth = 0;
        loop {
            if path.is_empty() {
                return Origin::Unknown;
            }
            let first = &path[..first_len];
            let rest = rest_after(path, first_len);
            let after_first = path.len() - rest.len();
            match first {
                ROOT => {
                    path.drain(..after_first);
                    return Origin::External;
                }
                "crate" | "self" | "super" | "Self" => return Origin::Crate,
                _ => {}
            }
            match self.declaration(first, rest.is_empty()) {
                Declaration::Local => return Origin::Local,
                Declaration::Item => return Origin::Crate,
                Declaration::Use(target) => {
                    // `use tokio;` maps `tokio` to itself: that is the extern crate, stop here.
                    let head = split_first(target).or_else(|| split_first(rest)).map(|(head, _)| head);
                    let names_itself = head == Some(first);
                    // `target` followed by the rest; an empty target leaves the rest alone.
                    // (`replace_range` would do, at several times the cost of its `Splice`.)
                    path.drain(..if target.is_empty() { after_first } else { first_len });
                    path.insert_str(0, target);
                    if path.is_empty() {
                        return Origin::Unknown;
                    }
                    if names_itself || depth > 8 {
                        return Origin::External;
                    }
                }
                Declaration::None => {
                    // A path whose first segment is not in scope names a crate (`tokio::spawn`) in
                    // 2018+ code, unless it is a type (`Vec::new`, `Handle::current`) from a
                    // prelude or a glob.
                    if !rest.is_empty() {
                        return if first.starts_with(char::is_lowercase) { Origin::External } else { Origin::Unknown };
                    }
                    let Some(glob) = self.single_external_glob() else { return Origin::Unknown };
                    path.insert_str(0, "::");
                    path.insert_str(0, glob);
                }
            }
            first_len = first_segment_len(path);
            depth += 1;
        }
    }

    /// What the innermost scope that declares `first` (the first segment of a path) makes of it;
    /// a local binding counts only for a path of that one segment (`single`).
    fn declaration(&self, first: &str, single: bool) -> Declaration<'_> {
        let mut past_boundary = false;
        for scope in self.scopes.iter().rev() {
            let bindings_visible = !past_boundary;
            past_boundary |= scope.fn_boundary;
            if bindings_visible && single && scope.bindings.iter().any(|b| b.name == first) {
                return Declaration::Local;
            }
            let Some(declared) = scope.declared.get(first) else { continue };
            if let Some(target) = &declared.target {
                return Declaration::Use(target);
            }
            if declared.item {
                return Declaration::Item;
            }
        }
        Declaration::None
    }

    /// With `use tokio::task::*;` a bare `spawn` means `tokio::task::spawn`, but only when that
    /// glob is the one place a name could come from.
    fn single_external_glob(&self) -> Option<&str> {
        let mut globs = self.scopes.iter().flat_map(|s| s.globs.iter());
        let glob = globs.next()?;
        // `use *;` parses (rustc rejects it): an empty glob is not an external one.
        let is_external = split_first(glob).is_some_and(|(first, _)| !matches!(first, "crate" | "self" | "super"));
        (is_external && globs.next().is_none()).then_some(glob)
    }
}

impl Scope {
    fn add_item(&mut self, item: &Item) {
        let ident = match item {
            Item::Use(u) => {
                let mut prefix = String::new();
                if u.leading_colon.is_some() {
                    prefix.push_str(ROOT);
                }
                self.add_use(&u.tree, &mut prefix);
                return;
            }
            Item::Fn(f) => &f.sig.ident,
            Item::Mod(m) => &m.ident,
            Item::Struct(s) => &s.ident,
            Item::Enum(e) => &e.ident,
            Item::Union(u) => &u.ident,
            Item::Trait(t) => &t.ident,
            Item::TraitAlias(t) => &t.ident,
            Item::Type(t) => &t.ident,
            Item::Const(c) => &c.ident,
            Item::Static(s) => &s.ident,
            Item::ExternCrate(e) => {
                let name = e.rename.as_ref().map_or(&e.ident, |(_, rename)| rename);
                self.add_target(name.to_string(), e.ident.to_string());
                return;
            }
            Item::Macro(m) => match &m.ident {
                Some(ident) => ident,
                None => return,
            },
            _ => return,
        };
        self.declared.entry(ident.to_string()).or_default().item = true;
    }

    fn add_target(&mut self, name: String, target: String) {
        self.declared.entry(name).or_default().target = Some(target);
    }

    /// `prefix` is the joined path of the use trees around `tree`.
    fn add_use(&mut self, tree: &UseTree, prefix: &mut String) {
        match tree {
            UseTree::Path(p) => {
                let len = prefix.len();
                push_segment(prefix, &p.ident);
                self.add_use(&p.tree, prefix);
                prefix.truncate(len);
            }
            UseTree::Name(n) if n.ident == "self" => {
                if !prefix.is_empty() {
                    self.add_target(last_segment(prefix).to_string(), prefix.clone());
                }
            }
            UseTree::Name(n) => {
                let mut full = prefix.clone();
                push_segment(&mut full, &n.ident);
                self.add_target(last_segment(&full).to_string(), full);
            }
            UseTree::Rename(r) if r.rename == "_" => {}
            UseTree::Rename(r) => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    push_segment(&mut full, &r.ident);
                }
                self.add_target(r.rename.to_string(), full);
            }
            UseTree::Glob(_) => self.globs.push(prefix.clone()),
            UseTree::Group(g) => {
                for tree in &g.items {
                    self.add_use(tree, prefix);
                }
            }
        }
    }
}

/// Appends `path` joined (see `ROOT`) to the empty `joined`, and returns the length of its first
/// segment.
fn push_path(joined: &mut String, path: &syn::Path) -> usize {
    if path.leading_colon.is_some() {
        joined.push_str(ROOT);
    }
    let mut first_len = joined.len();
    for (i, segment) in path.segments.iter().enumerate() {
        push_segment(joined, &segment.ident);
        if i == 0 && first_len == 0 {
            first_len = joined.len();
        }
    }
    first_len
}

/// Appends `ident` to the joined path `path`.
fn push_segment(path: &mut String, ident: &proc_macro2::Ident) {
    use std::fmt::Write;
    if !path.is_empty() {
        path.push_str("::");
    }
    // Straight into the path: `ident.to_string()` would allocate a string of its own.
    write!(path, "{ident}").expect("writing to a String cannot fail");
}

/// The identifiers a pattern binds.
pub fn pat_idents(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(p) => {
            out.push(p.ident.to_string());
            if let Some((_, sub)) = &p.subpat {
                pat_idents(sub, out);
            }
        }
        Pat::Or(p) => p.cases.iter().take(1).for_each(|c| pat_idents(c, out)),
        Pat::Paren(p) => pat_idents(&p.pat, out),
        Pat::Reference(p) => pat_idents(&p.pat, out),
        Pat::Slice(p) => p.elems.iter().for_each(|e| pat_idents(e, out)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| pat_idents(&f.pat, out)),
        Pat::Tuple(p) => p.elems.iter().for_each(|e| pat_idents(e, out)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|e| pat_idents(e, out)),
        Pat::Type(p) => pat_idents(&p.pat, out),
        Pat::Guard(p) => pat_idents(&p.pat, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_for(src: &str) -> Names {
        let file: syn::File = syn::parse_str(src).unwrap();
        let mut names = Names::default();
        names.push_items(&file.items);
        names
    }

    fn resolve(names: &Names, path: &str) -> (Origin, String) {
        let r = names.resolve(&syn::parse_str(path).unwrap());
        (r.origin, r.joined())
    }

    #[test]
    fn follows_aliases_groups_self_and_leading_colons() {
        let names = names_for(
            "use futures::executor::block_on as run;
             use tokio::{task::{self, spawn as go}, runtime::Handle};
             use ::smol;
             use crate::net::TcpStream;
             mod local { }
             use local::helper;",
        );
        let ext = Origin::External;
        assert_eq!(resolve(&names, "run"), (ext, "futures::executor::block_on".into()));
        assert_eq!(resolve(&names, "task::spawn_blocking"), (ext, "tokio::task::spawn_blocking".into()));
        assert_eq!(resolve(&names, "go"), (ext, "tokio::task::spawn".into()));
        assert_eq!(resolve(&names, "Handle::current"), (ext, "tokio::runtime::Handle::current".into()));
        assert_eq!(resolve(&names, "smol::spawn"), (ext, "smol::spawn".into()));
        assert_eq!(resolve(&names, "::tokio::spawn"), (ext, "tokio::spawn".into()));
        assert_eq!(resolve(&names, "tokio::spawn"), (ext, "tokio::spawn".into()));
        assert_eq!(resolve(&names, "TcpStream::connect").0, Origin::Crate);
        assert_eq!(resolve(&names, "helper").0, Origin::Crate);
        assert_eq!(resolve(&names, "Vec::new").0, Origin::Unknown);
        assert_eq!(resolve(&names, "drop").0, Origin::Unknown);
    }

    #[test]
    fn local_items_and_bindings_shadow_imports() {
        let mut names = names_for("use futures::executor::block_on; use tokio::spawn;");
        names.push_block(&syn::parse_str::<syn::Block>("{ fn block_on() {} }").unwrap().stmts);
        names.bind(Binding { name: "spawn".into(), ty: None, mutable: false, param: false, init: None, source: None });
        assert_eq!(resolve(&names, "block_on").0, Origin::Crate);
        assert_eq!(resolve(&names, "spawn").0, Origin::Local);
        names.pop();
        assert_eq!(resolve(&names, "block_on").0, Origin::External);
    }

    #[test]
    fn an_fn_item_does_not_see_the_bindings_around_it() {
        let mut names = names_for("use tokio::spawn;");
        names.push_fn();
        names.bind_pat_with(&syn::parse_quote!(token), None, |b| b.param = true);
        names.push_bindings();
        names.bind_pat(&syn::parse_quote!(spawn), None);
        assert!(names.binding("token").is_some_and(|b| b.param));
        assert!(names.binding("spawn").is_some_and(|b| !b.param));
        names.push_fn();
        assert!(names.binding("token").is_none());
        assert_eq!(resolve(&names, "spawn"), (Origin::External, "tokio::spawn".into()));
    }

    #[test]
    fn local_bindings_record_where_their_values_come_from() {
        let mut names = names_for("");
        names.push_bindings();
        names.bind_pat_with(&syn::parse_quote!((i, chunk)), None, |b| b.source = Some(Source::Item(4..20)));
        names.bind_pat_with(&syn::parse_quote!(total), None, |b| b.source = Some(Source::Init(30..35)));
        assert_eq!(names.binding("chunk").and_then(|b| b.source.clone()), Some(Source::Item(4..20)));
        assert_eq!(names.binding("i").and_then(|b| b.source.clone()), Some(Source::Item(4..20)));
        assert_eq!(names.binding("total").and_then(|b| b.source.clone()), Some(Source::Init(30..35)));
    }

    #[test]
    fn a_typed_pattern_keeps_its_type() {
        let mut names = names_for("use tokio::task::JoinSet;");
        let ty = names.resolve(&syn::parse_quote!(JoinSet));
        let syn::Stmt::Local(local) = syn::parse_quote!(let mut set: JoinSet<()> = JoinSet::new();) else { panic!() };
        names.push_bindings();
        names.bind_pat(&local.pat, Some(ty.clone()));
        assert!(names.binding("set").is_some_and(|b| b.ty == Some(ty) && b.mutable));
    }

    #[test]
    fn paths_rustc_would_reject_resolve_without_panicking() {
        // Found by fuzzing: `use *;` and `use {self as x};` have empty paths.
        let names = names_for("use *; use {self as x};");
        assert_eq!(resolve(&names, "spawn").0, Origin::Unknown);
        assert_eq!(resolve(&names, "x").0, Origin::Unknown);
        assert_eq!(resolve(&names, "x::y").0, Origin::Unknown);
    }

    #[test]
    fn field_and_static_types_are_resolved_where_they_are_declared() {
        let mut names = names_for(
            "use std::sync::Mutex;
             struct A { state: Mutex<u8>, other: Arc<parking_lot::RwLock<u8>>, f: fn() }
             struct B(Rc<RefCell<u8>>);
             struct C { state: tokio::sync::Mutex<u8> }
             static LOCK: Mutex<()> = Mutex::new(());",
        );
        let joined = |types: Vec<Option<&Resolved>>| -> Vec<Option<String>> {
            types.into_iter().map(|t| t.map(Resolved::joined)).collect()
        };
        let state = joined(names.field_types("state"));
        assert_eq!(state, [Some("std::sync::Mutex".into()), Some("tokio::sync::Mutex".into())]);
        assert_eq!(joined(names.field_types("other")), [Some("parking_lot::RwLock".into())]);
        assert_eq!(joined(names.field_types("0")), [Some("RefCell".into())]);
        assert_eq!(joined(names.field_types("f")), [None]);
        assert!(names.field_types("missing").is_empty());
        assert_eq!(names.item_type("LOCK").map(Resolved::joined), Some("std::sync::Mutex".into()));
        names.push_block(&syn::parse_str::<syn::Block>("{ fn LOCK() {} }").unwrap().stmts);
        assert_eq!(names.item_type("LOCK"), None);
    }

    #[test]
    fn origin_and_last_agree_with_resolve() {
        let mut names = names_for("use handlers::index as home; use tokio::task; use {self as x}; mod m {}");
        names.push_bindings();
        names.bind_pat(&syn::parse_quote!(local), None);
        for path in ["home", "task::spawn", "x", "m", "local", "::tokio::spawn", "Vec::new", "self"] {
            let path: syn::Path = syn::parse_str(path).unwrap();
            let resolved = names.resolve(&path);
            let expected = (resolved.origin, resolved.last().to_string());
            let (origin, last) = names.origin_and_last(&path);
            assert_eq!((origin, last.to_string()), expected, "{}", resolved.path());
        }
    }

    #[test]
    fn a_single_external_glob_resolves_bare_names() {
        let names = names_for("use tokio::task::*;");
        assert_eq!(resolve(&names, "spawn"), (Origin::External, "tokio::task::spawn".into()));
        let names = names_for("use tokio::task::*; use super::*;");
        assert_eq!(resolve(&names, "spawn").0, Origin::Unknown);
    }

    #[test]
    fn a_resolved_path_splits_at_its_separators() {
        let names = names_for("use tokio::sync::Mutex;");
        let mut path = names.resolve(&syn::parse_quote!(Mutex::new));
        assert_eq!((path.path(), path.last(), path.last_two()), ("tokio::sync::Mutex::new", "new", "Mutex::new"));
        path.pop();
        assert_eq!((path.path(), path.last()), ("tokio::sync::Mutex", "Mutex"));
        let mut path = names.resolve(&syn::parse_quote!(x));
        assert_eq!((path.last(), path.last_two()), ("x", "x"));
        path.pop();
        assert_eq!((path.path(), path.last()), ("", ""));
    }

    #[test]
    fn a_chain_is_a_call_or_path_then_methods() {
        let names = names_for("use std::process::Command;");
        let chain = |src: &str| names.chain(&syn::parse_str(src).unwrap());
        let c = chain("Command::new(\"ls\").arg(\"-l\").spawn()?").unwrap();
        assert_eq!((c.root.joined(), c.called), ("std::process::Command::new".to_string(), true));
        assert_eq!(c.methods, ["arg", "spawn"]);
        let c = chain("(&mut child).wait().await").unwrap();
        assert_eq!((c.root.joined(), c.called, c.methods), ("child".to_string(), false, vec!["wait".to_string()]));
        assert!(chain("make()().x()").is_none());
        assert!(chain("a.b.c()").is_none());
    }
}
