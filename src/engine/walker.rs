//! One `syn::visit::Visit` over a file: it keeps the scope stacks (where code runs, which names are
//! visible), dispatches nodes to the rules, and records the facts the crate index needs.

use rustc_hash::FxHashSet as HashSet;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Block, Expr, FnArg, Local, Macro, Stmt, Type};

use super::context::{callee, AsyncKind, AsyncSite, Context, Exec, FnKind, FnNode, Node, NodeKind, Sink, SourceText};
use super::index::{BlockOn, FnDecl};
use super::macros;
use super::resolve::pat_idents;
use super::resolve::{Binding, Names, Origin, Resolved, Source};
use super::syntax::{awaited_call, expr_mentions, ident_in, peel};
use crate::diagnostic::LineIndex;
use crate::rules::Rule;

pub struct Walker<'a> {
    source: &'a SourceText<'a>,
    /// The rules to run, by the kind of node they look at (`NodeKind as usize`).
    rules: [Vec<&'static Rule>; NodeKind::COUNT],
    names: Names,
    exec: Vec<Exec>,
    impl_kind: Vec<FnKind>,
    /// Lints named in `#[allow(..)]` / `#[expect(..)]` on the enclosing items, innermost last.
    allowed: Vec<String>,
    /// The paths of the attributes on the enclosing items (`should_panic`, `tokio::test`).
    attrs: Vec<String>,
    /// How many test items (`#[test]` fns, `#[cfg(test)]` modules) enclose the code walked.
    test_depth: usize,
    /// The closure passed to an offload function whose arguments are being visited, if any.
    offload_closure: Option<*const syn::ExprClosure>,
    /// The closure passed to a call of the crate's own fn or method, and that callee's name.
    helper_closure: Option<(*const syn::ExprClosure, String)>,
    /// The async block passed to a `block_on` whose arguments are being visited, if any.
    block_on_future: Option<*const syn::ExprAsync>,
    /// For each fn being walked, innermost last: the index in `sink.facts.fns` of its declaration
    /// if it is a sync fn, whose own calls are recorded there (`FnDecl::block_on`, `calls`).
    fns: Vec<Option<usize>>,
    /// For each fn being walked, innermost last: the index in `sink.facts.fns` of its declaration
    /// and the names its parameters bind, to tell whether it hands one of them to an offload fn
    /// (`FnDecl::offloads`).
    params: Vec<(usize, Vec<String>)>,
    /// How many macro arguments the walk is inside (`vec![..]`, `format!(..)`): an offload call
    /// there does not make its fn an offload wrapper.
    macro_depth: usize,
    /// The names used as values so far; they become `sink.facts.values` when the walk is done
    /// (`into_sink`).
    values: HashSet<String>,
    /// Scratch space for `record_token_values`.
    token_names: HashSet<String>,
    /// The call or method call (`ExprCall` / `ExprMethodCall`) whose future the `.await` being
    /// walked awaits.
    awaited: Option<*const ()>,
    sink: Sink,
}

impl<'a> Walker<'a> {
    pub fn new(source: &'a SourceText<'a>, rules: &'a [&'static Rule]) -> Self {
        let mut by_kind: [Vec<&'static Rule>; NodeKind::COUNT] = Default::default();
        for &rule in rules {
            rule.nodes.iter().for_each(|&kind| by_kind[kind as usize].push(rule));
        }
        Walker {
            source,
            rules: by_kind,
            names: Names::default(),
            exec: vec![Exec::Sync],
            impl_kind: Vec::new(),
            allowed: Vec::new(),
            attrs: Vec::new(),
            test_depth: usize::from(source.test_file),
            offload_closure: None,
            helper_closure: None,
            block_on_future: None,
            fns: Vec::new(),
            params: Vec::new(),
            macro_depth: 0,
            values: HashSet::default(),
            token_names: HashSet::default(),
            awaited: None,
            sink: Sink::default(),
        }
    }

    fn dispatch(&mut self, node: Node<'_>) {
        let in_test_code = self.test_depth > 0;
        for &rule in &self.rules[node.kind() as usize] {
            // The one place the `test-code` setting applies: a rule it turns off is not run.
            if in_test_code && !self.source.test_code.runs(rule) {
                continue;
            }
            let mut cx = Context {
                rule,
                source: self.source,
                names: &self.names,
                exec: &self.exec,
                allowed: &self.allowed,
                attrs: &self.attrs,
                in_test_code,
                awaited: self.awaited,
                sink: &mut self.sink,
            };
            (rule.check)(node, &mut cx);
        }
    }

    /// Runs `f` with `exec` as the current execution context; the only place it changes.
    fn with_exec(&mut self, exec: Exec, f: impl FnOnce(&mut Self)) {
        self.exec.push(exec);
        f(self);
        self.exec.pop();
    }

    /// Runs `f` inside an item with these attributes: the lints its `#[allow(..)]` /
    /// `#[expect(..)]` name are allowed, its attributes are visible to rules, and a test or
    /// `#[cfg(test)]` item makes it test code.
    fn with_item_attrs(&mut self, attrs: &[syn::Attribute], f: impl FnOnce(&mut Self)) {
        let depth = self.allowed.len();
        self.allowed.extend(allowed_lints(attrs));
        let attrs_depth = self.attrs.len();
        self.attrs.extend(attrs.iter().filter(|a| !a.path().is_ident("doc")).map(|a| path_string(a.path())));
        let is_test = is_test_item(attrs);
        self.test_depth += usize::from(is_test);
        f(self);
        self.test_depth -= usize::from(is_test);
        self.allowed.truncate(depth);
        self.attrs.truncate(attrs_depth);
    }

    fn current_exec(&self) -> Exec {
        self.exec.last().cloned().unwrap_or(Exec::Sync)
    }

    fn walk_fn(&mut self, node: FnNode<'_>) {
        self.with_item_attrs(node.attrs, |w| w.walk_fn_body(node));
    }

    fn walk_fn_body(&mut self, node: FnNode<'_>) {
        self.record_fn(node.sig, node.attrs);
        let index = self.sink.facts.fns.len() - 1;
        let decl = (!returns_future(node.sig)).then_some(index);
        let mut params = Vec::new();
        for input in &node.sig.inputs {
            if let FnArg::Typed(arg) = input {
                pat_idents(&arg.pat, &mut params);
            }
        }
        let exec = match &node.sig.asyncness {
            Some(kw) => Exec::Async(AsyncSite {
                kind: AsyncKind::Fn,
                start: kw.span,
                end: node.sig.ident.span(),
                can_await: true,
                entry_point: is_entry_point(node.attrs),
                passed_to: None,
            }),
            None => Exec::Sync,
        };
        self.with_exec(exec, |w| {
            w.names.push_fn();
            for input in &node.sig.inputs {
                match input {
                    FnArg::Typed(arg) => {
                        let ty = w.names.resolve_type(&arg.ty);
                        let mut_ref = matches!(&*arg.ty, Type::Reference(r) if r.mutability.is_some());
                        w.names.bind_pat_with(&arg.pat, ty, |b| b.param = true);
                        if let (true, syn::Pat::Ident(p)) = (mut_ref, &*arg.pat) {
                            w.names.mark_mutable(&p.ident.to_string());
                        }
                    }
                    FnArg::Receiver(r) => {
                        let mutable = r.mutability.is_some() || receiver_is_mut_ref(r);
                        w.names.bind(Binding {
                            name: "self".into(),
                            ty: None,
                            mutable,
                            param: true,
                            init: None,
                            source: None,
                        });
                    }
                }
            }
            w.dispatch(Node::Fn(node));
            w.fns.push(decl);
            w.params.push((index, params));
            w.visit_block(node.body);
            w.params.pop();
            w.fns.pop();
            w.names.pop();
        });
    }

    /// A method of an `impl` block with attributes `container_attrs`.
    fn walk_impl_fn(&mut self, f: &syn::ImplItemFn, container_attrs: &[syn::Attribute]) {
        let kind = self.impl_kind.last().copied().unwrap_or(FnKind::Inherent);
        let node = FnNode { attrs: &f.attrs, container_attrs, vis: Some(&f.vis), sig: &f.sig, body: &f.block, kind };
        self.walk_fn(node);
    }

    /// A method of a `trait` with attributes `container_attrs`: walked if it has a default body.
    fn walk_trait_fn(&mut self, f: &syn::TraitItemFn, container_attrs: &[syn::Attribute]) {
        match &f.default {
            Some(body) => {
                let kind = FnKind::TraitDefault;
                self.walk_fn(FnNode { attrs: &f.attrs, container_attrs, vis: None, sig: &f.sig, body, kind })
            }
            None => self.record_fn(&f.sig, &f.attrs),
        }
    }

    fn record_fn(&mut self, sig: &syn::Signature, attrs: &[syn::Attribute]) {
        // Only cancellation types are ever asked about; keeping the rest would make the index grow
        // with every parameter of every fn in the tree.
        let catalog = self.source.catalog;
        let mut param_types: Vec<Option<String>> = sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(arg) => Some(
                    self.names
                        .resolve_type(&arg.ty)
                        .filter(|t| catalog.is_cancellation_type(t))
                        .map(|t| t.last().to_string()),
                ),
                FnArg::Receiver(_) => None,
            })
            .collect();
        if param_types.iter().all(Option::is_none) {
            param_types = Vec::new();
        }
        self.sink.facts.fns.push(FnDecl {
            name: sig.ident.to_string(),
            returns_future: returns_future(sig) && !is_entry_point(attrs),
            returns_result: future_output(sig).is_some_and(is_result_type),
            receiver: sig.receiver().is_some(),
            param_types,
            offloads: false,
            block_on: None,
            offloads_block_on: false,
            calls: Vec::new(),
        });
    }

    /// The declaration of the sync fn whose own code is being walked: not an async block, a
    /// closure passed to an offload function or a nested fn in it.
    fn own_sync_code(&mut self) -> Option<&mut FnDecl> {
        let index = (*self.fns.last()?)?;
        match self.exec.last() {
            Some(Exec::Sync) => self.sink.facts.fns.get_mut(index),
            _ => None,
        }
    }

    /// A sync fn calls `call` (`futures::executor::block_on`, `.block_on`) at byte `offset`.
    fn record_block_on(&mut self, call: String, offset: usize) {
        if let (Some(Exec::Offloaded), Some(&Some(index))) = (self.exec.last(), self.fns.last()) {
            self.sink.facts.fns[index].offloads_block_on = true;
        }
        let text = self.source.text;
        let Some(decl) = self.own_sync_code().filter(|d| d.block_on.is_none()) else { return };
        // Rare: most fns never block, so the line index is built only for those that do.
        let (line, column) = LineIndex::new(text).position(offset);
        decl.block_on = Some(BlockOn { call, path: Default::default(), line, column });
    }

    /// A sync fn calls the crate's own fn or method `name`.
    fn record_call(&mut self, name: &str) {
        if let Some(decl) = self.own_sync_code().filter(|d| !d.calls.iter().any(|c| c == name)) {
            decl.calls.push(name.to_string());
        }
    }

    /// A call of an offload fn or method by name (`spawn_blocking(f)`, `rt.spawn_blocking(move ||
    /// f())`): if an argument mentions a parameter of the fn being walked, that fn hands it to
    /// another thread. Matched by the last segment of the name, as the crate's own wrappers are
    /// named after what they wrap (`crate::blocking::spawn_blocking`).
    fn record_offload<'e>(&mut self, name: &proc_macro2::Ident, mut args: impl Iterator<Item = &'e Expr>) {
        let Some((index, params)) = self.params.last().filter(|(_, params)| !params.is_empty()) else { return };
        if self.macro_depth > 0 || !self.source.catalog.executors.offload_names.iter().any(|n| name == n) {
            return;
        }
        if args.any(|arg| params.iter().any(|p| expr_mentions(arg, p))) {
            self.sink.facts.fns[*index].offloads = true;
        }
    }

    /// `let x: T = ..`, or `let x = T::new(..)` (also through `?`, `.unwrap()`, `.expect(..)`,
    /// and `Arc::new(..)`, `Rc::new(..)`, `Box::new(..)`).
    fn local_type(&self, local: &Local) -> Option<Resolved> {
        if let syn::Pat::Type(typed) = &local.pat {
            return self.names.resolve_type(&typed.ty);
        }
        let mut expr = peel(&local.init.as_ref()?.expr);
        loop {
            match expr {
                Expr::Try(t) => expr = peel(&t.expr),
                Expr::MethodCall(m) if m.method == "unwrap" || m.method == "expect" => expr = peel(&m.receiver),
                Expr::Call(call) => {
                    let Expr::Path(p) = peel(&call.func) else {
                        return None;
                    };
                    if p.path.segments.len() < 2 {
                        return None;
                    }
                    let mut resolved = self.names.resolve(&p.path);
                    resolved.pop();
                    // `Arc::new(Mutex::new(..))` is a `Mutex` to its users, as `Arc<Mutex<..>>` is.
                    if matches!(resolved.last(), "Arc" | "Rc" | "Box") && call.args.len() == 1 {
                        expr = peel(&call.args[0]);
                        continue;
                    }
                    return Some(resolved);
                }
                _ => return None,
            }
        }
    }

    fn span_range(&self, span: proc_macro2::Span) -> std::ops::Range<usize> {
        self.source.span_range(span)
    }

    /// The arguments of a call; `block_on`: the callee runs its future argument on this thread.
    fn visit_args<'e>(
        &mut self,
        args: impl IntoIterator<Item = &'e Expr>,
        offload: bool,
        helper: Option<&str>,
        block_on: bool,
    ) {
        for arg in args {
            let outer = self.block_on_future.take();
            if let (true, Expr::Async(future)) = (block_on, peel(arg)) {
                self.block_on_future = Some(future as *const _);
            }
            self.visit_arg(arg, offload, helper);
            self.block_on_future = outer;
        }
    }

    /// `helper`: the callee is the crate's own fn or method of that name, which may hand a closure
    /// argument to another thread.
    fn visit_arg(&mut self, arg: &Expr, offload: bool, helper: Option<&str>) {
        let outer = (self.offload_closure.take(), self.helper_closure.take());
        let closure = offloaded_closure(arg).map(|c| c as *const syn::ExprClosure);
        self.offload_closure = closure.filter(|_| offload);
        self.helper_closure = closure.filter(|_| !offload).zip(helper.map(String::from));
        self.visit_expr(arg);
        (self.offload_closure, self.helper_closure) = outer;
    }

    fn record_spawned(&mut self, arg: Option<&Expr>) {
        if let Some(name) = arg.and_then(spawned_fn_name) {
            self.sink.facts.spawned.push(name);
        }
    }

    /// Takes a `String` or a `&str`: a name already recorded is not copied again.
    fn record_value(&mut self, name: impl AsRef<str> + Into<String>) {
        if !self.values.contains(name.as_ref()) {
            self.values.insert(name.into());
        }
    }

    /// What the walk found: findings, deferred findings and the file's facts.
    pub fn into_sink(mut self) -> Sink {
        self.sink.facts.values = self.values.into_iter().collect();
        self.sink
    }

    /// In macro tokens the walker does not parse, any identifier that is not a macro (`m!`), a
    /// field, or an awaited call (`f(..).await`) may be a value (`routes![index, about]`) or a
    /// future used as one; so may a method called on `self` and not awaited.
    fn record_token_values(&mut self, tokens: &TokenStream) {
        // One set for every macro of the file, emptied each time: most macros are small, and a
        // new set for each grew and rehashed from nothing.
        let mut seen = std::mem::take(&mut self.token_names);
        seen.clear();
        self.record_token_values_in(tokens.clone(), &mut seen, &mut String::new());
        if seen.capacity() <= 1024 {
            self.token_names = seen;
        }
    }

    /// `seen`: the names recorded from these tokens so far. The scope does not change within
    /// them, so a name resolves as it did the first time (`macro_rules!` bodies repeat names).
    /// `name`: scratch space, so that a name already seen costs no allocation.
    fn record_token_values_in(&mut self, tokens: TokenStream, seen: &mut HashSet<String>, name: &mut String) {
        use std::fmt::Write;
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let punct = |i: usize, c: char| matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == c);
        let ident = |i: usize, name: &str| matches!(tokens.get(i), Some(TokenTree::Ident(x)) if x == name);
        for (i, tt) in tokens.iter().enumerate() {
            match tt {
                TokenTree::Group(g) => self.record_token_values_in(g.stream(), seen, name),
                TokenTree::Ident(ident_token) => {
                    let called = matches!(tokens.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
                    let awaited = called && punct(i + 2, '.') && ident(i + 3, "await");
                    let after_dot = i > 0 && punct(i - 1, '.');
                    let self_method = i > 1 && after_dot && ident(i - 2, "self") && called;
                    if !punct(i + 1, '!') && !awaited && (!after_dot || self_method) {
                        name.clear();
                        write!(name, "{ident_token}").expect("writing to a String cannot fail");
                        if seen.contains(name.as_str()) {
                            continue;
                        }
                        seen.insert(name.clone());
                        let resolved = self.names.resolve_name(name);
                        if resolved.origin != Origin::Local {
                            self.record_value(name.as_str());
                            self.record_value(resolved.last());
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Is `call` (an `ExprCall` or `ExprMethodCall`) awaited at once (`f(..).await`)?
    fn is_awaited<T>(&self, call: &T) -> bool {
        self.awaited.is_some_and(|a| std::ptr::eq(a, call as *const T as *const ()))
    }
}

impl<'ast> Visit<'ast> for Walker<'_> {
    fn visit_file(&mut self, file: &'ast syn::File) {
        self.names.push_items(&file.items);
        self.with_item_attrs(&file.attrs, |w| visit::visit_file(w, file));
        self.names.pop();
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let Some((_, items)) = &m.content else { return };
        self.names.push_items(items);
        self.with_item_attrs(&m.attrs, |w| {
            w.with_exec(Exec::Sync, |w| items.iter().for_each(|item| w.visit_item(item)))
        });
        self.names.pop();
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let kind = FnKind::Free;
        let node =
            FnNode { attrs: &f.attrs, container_attrs: &[], vis: Some(&f.vis), sig: &f.sig, body: &f.block, kind };
        self.walk_fn(node);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let kind = if i.trait_.is_some() { FnKind::TraitImpl } else { FnKind::Inherent };
        self.impl_kind.push(kind);
        self.with_item_attrs(&i.attrs, |w| {
            w.with_exec(Exec::Sync, |w| {
                i.items.iter().for_each(|item| match item {
                    syn::ImplItem::Fn(f) => w.walk_impl_fn(f, &i.attrs),
                    item => w.visit_impl_item(item),
                })
            })
        });
        self.impl_kind.pop();
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.walk_impl_fn(f, &[]);
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        self.with_item_attrs(&t.attrs, |w| {
            w.with_exec(Exec::Sync, |w| {
                t.items.iter().for_each(|item| match item {
                    syn::TraitItem::Fn(f) => w.walk_trait_fn(f, &t.attrs),
                    item => w.visit_trait_item(item),
                })
            })
        });
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.walk_trait_fn(f, &[]);
    }

    fn visit_item_const(&mut self, c: &'ast syn::ItemConst) {
        self.with_exec(Exec::Sync, |w| w.visit_expr(&c.expr));
    }

    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        self.with_exec(Exec::Sync, |w| w.visit_expr(&s.expr));
    }

    /// `macro_rules!` definitions and other item macros stay opaque; only the names they may use
    /// as values are recorded.
    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        self.record_token_values(&m.mac.tokens);
    }

    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}

    fn visit_block(&mut self, block: &'ast Block) {
        self.names.push_block(&block.stmts);
        for (index, stmt) in block.stmts.iter().enumerate() {
            self.dispatch(Node::Stmt { block, index });
            match stmt {
                Stmt::Local(local) => {
                    if let Some(init) = &local.init {
                        self.visit_expr(&init.expr);
                        if let Some((_, diverge)) = &init.diverge {
                            self.visit_expr(diverge);
                        }
                    }
                    let ty = self.local_type(local);
                    // A stated type says more than the initialiser.
                    let init = match (&local.pat, &local.init) {
                        (syn::Pat::Type(_), _) | (_, None) => None,
                        (_, Some(init)) => self.names.chain(&init.expr),
                    };
                    // Between `=` and `;`: token spans are cheap, an expression's span is not.
                    let source = local_source(local).and(local.init.as_ref()).map(|init| {
                        Source::Init(
                            self.span_range(init.eq_token.span).end..self.span_range(local.semi_token.span).start,
                        )
                    });
                    self.names.bind_pat_with(&local.pat, ty, |b| {
                        b.init = init.clone();
                        b.source = source.clone();
                    });
                }
                _ => self.visit_stmt(stmt),
            }
        }
        self.names.pop();
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        let offloaded = self.offload_closure.is_some_and(|o| std::ptr::eq(o, c));
        let helper = self.helper_closure.as_ref().filter(|(h, _)| std::ptr::eq(*h, c)).map(|(_, name)| name.clone());
        let exec = match (&c.asyncness, offloaded) {
            (Some(kw), _) => {
                let end = c.inputs_end.span;
                Exec::Async(AsyncSite {
                    kind: AsyncKind::Closure,
                    start: kw.span,
                    end,
                    can_await: true,
                    entry_point: false,
                    passed_to: None,
                })
            }
            (None, true) => Exec::Offloaded,
            (None, false) => match self.current_exec() {
                Exec::Async(site) => {
                    let passed_to = helper.or(site.passed_to.clone());
                    Exec::Async(AsyncSite { can_await: false, passed_to, ..site })
                }
                exec => exec,
            },
        };
        self.with_exec(exec, |w| {
            w.names.push_bindings();
            for input in &c.inputs {
                let ty = match input {
                    syn::Pat::Type(t) => w.names.resolve_type(&t.ty),
                    _ => None,
                };
                w.names.bind_pat_with(input, ty, |b| b.param = true);
            }
            w.visit_expr(&c.body);
            w.names.pop();
        });
    }

    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        let end = a.capture.as_ref().map_or(a.async_token.span, |m| m.span);
        // `rt.block_on(async { .. })` runs the block on the thread that calls `block_on`.
        let entry_point = self.block_on_future.is_some_and(|f| std::ptr::eq(f, a));
        let site = AsyncSite {
            kind: AsyncKind::Block,
            start: a.async_token.span,
            end,
            can_await: true,
            entry_point,
            passed_to: None,
        };
        self.with_exec(Exec::Async(site), |w| w.visit_block(&a.block));
    }

    fn visit_expr_await(&mut self, a: &'ast syn::ExprAwait) {
        let awaited = awaited_call(&a.base);
        let outer = std::mem::replace(&mut self.awaited, awaited);
        self.visit_expr(&a.base);
        self.awaited = outer;
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        self.dispatch(Node::Call(call));
        let executors = &self.source.catalog.executors;
        let resolved = callee(&self.names, call);
        let is_in = |paths: &HashSet<String>| resolved.as_ref().is_some_and(|r| r.is_in(paths));
        let offload = is_in(&executors.offload);
        let own = resolved.as_ref().filter(|r| matches!(r.origin, Origin::Crate | Origin::Unknown));
        // The name is wanted only with a closure to hand on (`visit_arg`).
        let hands_on_closure = call.args.iter().any(|arg| offloaded_closure(arg).is_some());
        let helper = own.filter(|_| hands_on_closure).map(|r| r.last().to_string());
        if is_in(&executors.spawn) {
            self.record_spawned(call.args.first());
        }
        // A path in callee position is called, not used as a value; but the future of a call
        // that is not awaited at once is (`spawn(run())`, `|req| handle(req)`, `join!(a(), b())`),
        // unless it is another crate's fn (`tokio::spawn(..)`, `Vec::new()`).
        match peel(&call.func) {
            Expr::Path(p) => {
                if let Some(last) = p.path.segments.last() {
                    self.record_offload(&last.ident, call.args.iter());
                }
                let own_fn = resolved.as_ref().is_some_and(Resolved::may_be_own);
                if own_fn && !self.is_awaited(call) {
                    self.record_value(resolved.as_ref().map_or("", |r| r.last()));
                }
                visit::visit_expr_path(self, p)
            }
            func => self.visit_expr(func),
        }
        let block_on = is_in(&executors.block_on);
        match &resolved {
            Some(r) if block_on => self.record_block_on(r.joined(), self.span_range(call.func.span()).start),
            Some(r) if r.may_be_own() => self.record_call(r.last()),
            _ => {}
        }
        self.visit_args(&call.args, offload, helper.as_deref(), block_on);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        self.dispatch(Node::MethodCall(call));
        let (executors, method) = (&self.source.catalog.executors, &call.method);
        let offload = ident_in(method, &executors.offload_methods);
        let block_on = ident_in(method, &executors.block_on_methods);
        self.record_offload(method, call.args.iter());
        // `self.run()` not awaited at once: its future is used as a value (`spawn(self.run())`).
        let on_self = matches!(peel(&call.receiver), Expr::Path(p) if p.path.is_ident("self"));
        if on_self && !self.is_awaited(call) {
            self.record_value(method.to_string());
        }
        self.visit_expr(&call.receiver);
        if block_on {
            self.record_block_on(format!(".{method}"), self.span_range(method.span()).start);
        } else if on_self {
            self.record_call(&method.to_string());
        }
        // The name is wanted only with a closure to hand on (`visit_arg`).
        let helper = call.args.iter().any(|arg| offloaded_closure(arg).is_some()).then(|| method.to_string());
        self.visit_args(&call.args, offload, helper.as_deref(), block_on);
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.dispatch(Node::ForLoop(f));
        self.visit_expr(&f.expr);
        self.names.push_bindings();
        let collection = self.span_range(f.in_token.span).end..self.span_range(f.body.brace_token.span.open()).start;
        self.names.bind_pat_with(&f.pat, None, |b| b.source = Some(Source::Item(collection.clone())));
        self.visit_block(&f.body);
        self.names.pop();
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.dispatch(Node::While(w));
        visit::visit_expr_while(self, w);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        // As written and as resolved (`use handlers::index as home;` then `get(home)`); a local
        // variable is not an item.
        let (origin, resolved_last) = self.names.origin_and_last(&p.path);
        if let (false, Some(written)) = (origin == Origin::Local, p.path.segments.last()) {
            let renamed = (written.ident != resolved_last).then(|| resolved_last.to_string());
            if let Some(renamed) = renamed {
                self.record_value(renamed);
            }
            self.record_value(written.ident.to_string());
        }
        visit::visit_expr_path(self, p);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        match macros::expressions(mac) {
            Some(exprs) => {
                self.macro_depth += 1;
                exprs.iter().for_each(|expr| self.visit_expr(expr));
                self.macro_depth -= 1;
            }
            None => self.record_token_values(&mac.tokens),
        }
    }
}

/// The plain closure an offload function runs: the argument itself (`spawn_blocking(|| ..)`) or the
/// value of a block argument (`spawn_blocking({ let rt = rt.clone(); move || .. })`).
fn offloaded_closure(arg: &Expr) -> Option<&syn::ExprClosure> {
    match peel(arg) {
        Expr::Closure(c) if c.asyncness.is_none() => Some(c),
        Expr::Block(b) => match b.block.stmts.last() {
            Some(Stmt::Expr(tail, None)) => offloaded_closure(tail),
            _ => None,
        },
        _ => None,
    }
}

/// The initialiser of `let x = ..;` / `let x: T = ..;`, a plain name without `else`.
fn local_source(local: &Local) -> Option<&Expr> {
    let pat = match &local.pat {
        syn::Pat::Type(typed) => &*typed.pat,
        pat => pat,
    };
    let init = local.init.as_ref().filter(|i| i.diverge.is_none())?;
    matches!(pat, syn::Pat::Ident(p) if p.subpat.is_none()).then_some(&*init.expr)
}

/// `&mut self` or `self: &mut Self` (syn keeps `mutability` for the `mut self` binding only).
fn receiver_is_mut_ref(r: &syn::Receiver) -> bool {
    match &r.kind {
        syn::ReceiverKind::Reference(_, _, mutability) => mutability.is_some(),
        syn::ReceiverKind::Typed(_, ty) => matches!(&**ty, Type::Reference(t) if t.mutability.is_some()),
        _ => false,
    }
}

fn path_string(path: &syn::Path) -> String {
    match path.get_ident() {
        Some(ident) => ident.to_string(),
        None => path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::"),
    }
}

/// The lints named by `#[allow(..)]` and `#[expect(..)]` (`unused_must_use`,
/// `clippy::let_underscore_future`).
fn allowed_lints(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut lints = Vec::new();
    for attr in attrs {
        if !(attr.path().is_ident("allow") || attr.path().is_ident("expect")) {
            continue;
        }
        let paths = attr.parse_args_with(syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated);
        for path in paths.into_iter().flatten() {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            lints.push(segments.join("::"));
        }
    }
    lints
}

/// `#[tokio::main]`, `#[tokio::test]`, `#[async_std::main]`, ...: the macro turns the `async fn`
/// into a sync fn that runs a runtime, so calling it does not produce a future.
fn is_entry_point(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let segments = &attr.path().segments;
        segments.len() >= 2 && segments.last().is_some_and(|s| s.ident == "main" || s.ident == "test")
    })
}

/// `#[test]`, `#[tokio::test]`, `#[bench]`, or `#[cfg(test)]` (also `#[cfg(all(test, ..))]`).
pub(crate) fn is_test_item(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let path = attr.path();
        if path.is_ident("cfg") {
            // Most are `cfg(feature = "..")`: without a `test` there is nothing to parse.
            let names_test = attr.meta.require_list().is_ok_and(|list| mentions_test(list.tokens.clone()));
            return names_test && attr.parse_args::<syn::Meta>().is_ok_and(|meta| cfg_implies_test(&meta));
        }
        path.segments.last().is_some_and(|s| s.ident == "test" || s.ident == "bench")
    })
}

fn mentions_test(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => ident == "test",
        TokenTree::Group(group) => mentions_test(group.stream()),
        _ => false,
    })
}

/// Does a `cfg` predicate hold only when compiling tests?
fn cfg_implies_test(meta: &syn::Meta) -> bool {
    use syn::punctuated::Punctuated;
    match meta {
        syn::Meta::Path(path) => path.is_ident("test"),
        syn::Meta::List(list) if list.path.is_ident("all") || list.path.is_ident("any") => {
            let Ok(preds) = list.parse_args_with(Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated) else {
                return false;
            };
            if list.path.is_ident("all") {
                preds.iter().any(cfg_implies_test)
            } else {
                !preds.is_empty() && preds.iter().all(cfg_implies_test)
            }
        }
        _ => false,
    }
}

/// `async fn`, or a signature returning `impl Future`, `BoxFuture`, `Pin<Box<dyn Future>>`.
pub fn returns_future(sig: &syn::Signature) -> bool {
    if sig.asyncness.is_some() {
        return true;
    }
    match &sig.output {
        syn::ReturnType::Type(_, ty) => is_future_type(ty),
        syn::ReturnType::Default => false,
    }
}

/// The output type of the future a signature returns: the return type of an `async fn` (`()` when
/// none is written: `None`), `T` of `impl Future<Output = T>`, `BoxFuture<'_, T>`,
/// `Pin<Box<dyn Future<Output = T>>>`.
fn future_output(sig: &syn::Signature) -> Option<&Type> {
    let syn::ReturnType::Type(_, ty) = &sig.output else { return None };
    if sig.asyncness.is_some() {
        return Some(ty);
    }
    future_type_output(ty)
}

fn future_type_output(ty: &Type) -> Option<&Type> {
    match ty {
        Type::ImplTrait(t) => bounds_output(&t.bounds),
        Type::TraitObject(t) => bounds_output(&t.bounds),
        Type::Paren(p) => future_type_output(&p.elem),
        Type::Path(p) => {
            let last = p.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
            let mut types = args.args.iter().filter_map(|a| match a {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            });
            if last.ident == "BoxFuture" || last.ident == "LocalBoxFuture" {
                types.next()
            } else if last.ident == "Pin" || last.ident == "Box" {
                types.next().and_then(future_type_output)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `T` of a `Future<Output = T>` bound.
fn bounds_output(bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>) -> Option<&Type> {
    bounds.iter().find_map(|b| match b {
        syn::TypeParamBound::Trait(t) => {
            let last = t.path.segments.last().filter(|s| s.ident == "Future")?;
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
            args.args.iter().find_map(|a| match a {
                syn::GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
                _ => None,
            })
        }
        _ => None,
    })
}

/// `Result<..>`, `io::Result<..>`, `anyhow::Result<..>`: by the last segment's name.
fn is_result_type(ty: &Type) -> bool {
    match ty {
        Type::Paren(p) => is_result_type(&p.elem),
        Type::Group(g) => is_result_type(&g.elem),
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        _ => false,
    }
}

fn is_future_type(ty: &Type) -> bool {
    let bound_is_future = |bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>| {
        bounds.iter().any(|b| matches!(b, syn::TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Future")))
    };
    match ty {
        Type::ImplTrait(t) => bound_is_future(&t.bounds),
        Type::TraitObject(t) => bound_is_future(&t.bounds),
        Type::Paren(p) => is_future_type(&p.elem),
        Type::Path(p) => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            if last.ident == "BoxFuture" || last.ident == "LocalBoxFuture" {
                return true;
            }
            let is_wrapper = last.ident == "Pin" || last.ident == "Box";
            match &last.arguments {
                syn::PathArguments::AngleBracketed(args) if is_wrapper => {
                    args.args.iter().any(|a| matches!(a, syn::GenericArgument::Type(t) if is_future_type(t)))
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// The fn whose future a spawn call runs: `spawn(run(..))`, `spawn(run(..).instrument(..))`,
/// `spawn(async move { run(..).await })`.
fn spawned_fn_name(arg: &Expr) -> Option<String> {
    match peel(arg) {
        Expr::Call(call) => match peel(&call.func) {
            Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        },
        Expr::MethodCall(m) => spawned_fn_name(&m.receiver).or_else(|| {
            matches!(peel(&m.receiver), Expr::Path(p) if p.path.is_ident("self")).then(|| m.method.to_string())
        }),
        Expr::Await(a) => spawned_fn_name(&a.base),
        Expr::Async(a) => match a.block.stmts.as_slice() {
            [Stmt::Expr(e, _)] => spawned_fn_name(e),
            _ => None,
        },
        _ => None,
    }
}

impl std::fmt::Debug for Walker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walker").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::{future_output, is_result_type};

    fn returns_result(sig: &str) -> bool {
        let sig: syn::Signature = syn::parse_str(sig).unwrap();
        future_output(&sig).is_some_and(is_result_type)
    }

    #[test]
    fn the_output_of_a_returned_future_is_seen_through_its_wrappers() {
        assert!(returns_result("async fn save() -> Result<(), Error>"));
        assert!(returns_result("async fn save() -> io::Result<()>"));
        assert!(returns_result("fn save() -> impl Future<Output = anyhow::Result<()>> + Send"));
        assert!(returns_result("fn save(&self) -> BoxFuture<'_, Result<u8, E>>"));
        assert!(returns_result("fn save() -> Pin<Box<dyn Future<Output = Result<(), E>> + Send>>"));
        assert!(!returns_result("async fn save()"));
        assert!(!returns_result("async fn save() -> Option<u8>"));
        assert!(!returns_result("fn save() -> Result<(), E>"));
        assert!(!returns_result("fn save() -> impl Future<Output = ()>"));
    }
}
