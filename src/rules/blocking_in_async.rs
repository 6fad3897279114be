use super::{Context, Node};
use crate::catalog::{BlockingApi, Catalog};
use crate::diagnostic::{Applicability, Edit};
use crate::engine::index::Condition;
use crate::engine::manifest::Runtime;
use crate::engine::resolve::{Chain, Origin};

declare_rule! {
    /// ## What it does
    /// Flags a call that blocks its thread inside an `async fn`, `async` block or async closure:
    /// `std::thread::sleep`, `std::fs::read`, a read on a `std::fs::File`,
    /// `std::net::TcpStream::connect`, `Command::output`, `JoinHandle::join`, a std `mpsc`
    /// `recv`, `reqwest::blocking`, `ureq`, tokio's `blocking_recv` / `blocking_lock`, and the
    /// rest of `rules/blocking-apis.toml`.
    ///
    /// ## Why is this bad?
    /// An executor runs many tasks on a few threads. While one task blocks its thread no other
    /// task runs there: timers fire late, requests time out, and with a single-threaded executor
    /// everything stops, which deadlocks if the blocked task waits for a message another task
    /// would send. Tokio's own `blocking_*` methods and `reqwest::blocking` panic when called
    /// inside a runtime.
    ///
    /// ## Example
    /// ```rust
    /// async fn retry() {
    ///     std::thread::sleep(std::time::Duration::from_millis(100));
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// async fn retry() {
    ///     tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// Where the async replacement is the same call awaited and returns the same type
    /// (`std::thread::sleep(d)` -> `tokio::time::sleep(d).await`, `std::fs::read(p)` ->
    /// `tokio::fs::read(p).await`) and the crate's `Cargo.toml` names its runtime, the rewrite is
    /// offered as an unsafe fix: the task now yields at that point, so other code may run in
    /// between, and the enclosing future may stop being `Send` if a non-`Send` value is held across
    /// the new `.await`. It is not offered inside a plain closure nested in async code, where
    /// `.await` is not allowed, nor where the async type differs (`read_dir`, `File::open`).
    ///
    /// ## Known problems
    /// Methods are only recognised on a receiver the file shows to be of the blocking type: a
    /// typed parameter, or a `let` made by a known call (`let f = File::open(p)?`,
    /// `let (tx, rx) = std::sync::mpsc::channel()`, `Command::new("x").arg(..).output()`); not a
    /// struct field, a value wrapped in a `BufReader`, or a binding of an `if let` / `match`
    /// pattern (such a binding does not hide an outer `let` of the same name either). Tokio's
    /// `blocking_*` methods are matched by name, on any receiver. `Path::exists` / `is_file` and
    /// other `std::path::Path` methods that touch the file system are not flagged, nor is
    /// `println!`. `TcpListener::bind` / `UdpSocket::bind` are flagged even when the socket is then
    /// set non-blocking and handed to `from_std`; binding only blocks when it resolves a host name.
    ///
    /// Not checked, on purpose: test code (`#[test]` / `#[tokio::test]` fns, `#[cfg(test)]`
    /// modules, files under `tests/`, `benches/` or `examples/`), which blocks to set up fixtures
    /// (checked with `test-code = "check"`); the body of a
    /// `#[tokio::main]`-style fn and an async block passed straight to `block_on`, which run on the
    /// thread that starts the runtime (an async block spawned from them is checked); and a closure
    /// passed to `spawn_blocking`, `block_in_place`, `std::thread::spawn`, `actix_web::web::block`
    /// or another offload function in `rules/executors.toml`, or to a fn or method of the crate
    /// that hands a parameter to one (`asyncify(|| std::fs::read(p))`). A closure first bound to a
    /// variable and then handed over is still checked. Code inside macros other than `select!`,
    /// `join!`, `vec!`, the format family and `assert*!` is not checked.
    id: "blocking-in-async",
    category: Suspicious,
    fix: Sometimes,
    tests: Relaxed,
    nodes: [Call, MethodCall],
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    // The body of a `#[tokio::main]` fn runs on the thread that starts the runtime, not on a worker.
    let Some(site) = cx.async_site() else { return };
    if site.entry_point {
        return;
    }
    // A closure handed to the crate's own fn may be run on a blocking thread by it.
    let condition = site.passed_to.clone().map(Condition::CalleeDoesNotOffload);
    let blocking = &cx.catalog().blocking;
    // Ranges leave out outer attributes (`#[cfg(..)] std::thread::sleep(d);`), which a fix must
    // keep. A method call is reported from its name on, so that in a chain split over lines the
    // finding is on the line of the blocking method.
    let (api, what, primary, arguments) = match node {
        Node::Call(call) => {
            let Some(path) = cx.callee(call).filter(|p| p.is_external()) else { return };
            let Some(api) = blocking.fn_api(&path.joined()) else { return };
            let callee_end = cx.range(&call.func).end;
            let range = cx.range(&call.func).start..cx.range(call).end;
            // `(d)`: everything after the callee, with the parentheses.
            let arguments = cx.text(callee_end..range.end).to_string();
            (api, path.joined(), range, Some(arguments))
        }
        Node::MethodCall(call) => {
            let Some((api, what)) = method_api(cx, call) else { return };
            let range = cx.range(&call.method).start..cx.range(call).end;
            (api, what, range, None)
        }
        _ => return,
    };
    let runtime = cx.runtime();
    let fixable = api.fix.get(runtime).is_some_and(|&fix| fix);
    let fix = arguments.filter(|_| fixable && cx.can_await()).and_then(|arguments| {
        let replacement = api.replacement.get(runtime)?.as_ref()?;
        Some(replacement.replacen("(..)", &arguments, 1))
    });
    let async_label = cx.async_label();
    let mut report = cx
        .report(primary.clone(), format!("blocking call `{what}` inside async code"))
        .label(api.reason.as_str())
        .help(help(api, runtime));
    if let Some((range, label)) = async_label {
        report = report.secondary(range, label);
    }
    if let Some(condition) = condition {
        report = report.when(condition);
    }
    if let Some(replacement) = fix {
        let message = format!("replace with `{replacement}`");
        report.fix(Applicability::Unsafe, message, vec![Edit { range: primary, replacement }]);
    }
}

/// The blocking API `.m(..)` calls, and how to name it.
fn method_api<'c>(cx: &Context<'c>, call: &syn::ExprMethodCall) -> Option<(&'c BlockingApi, String)> {
    let blocking = &cx.catalog().blocking;
    let name = call.method.to_string();
    if let Some(api) = blocking.method_names.get(&name) {
        return Some((api, name));
    }
    if let Some(api) = blocking.trait_methods.get(&name) {
        // The trait must be in scope for its method to be callable.
        let trait_name = api.path.rsplit("::").next().unwrap_or_default().to_string();
        let in_scope = cx.names().resolve_name(&trait_name);
        if in_scope.is_external() && in_scope.joined() == api.path {
            return Some((api, format!("{}::{name}", api.path)));
        }
    }
    let ty = receiver_type(cx, &cx.chain(&call.receiver)?, 0)?;
    let api = blocking.methods.get(&format!("{ty}::{name}"))?;
    Some((api, api.path.clone()))
}

/// The type a chain's value has, when the file shows it and the catalog knows the calls made.
fn receiver_type(cx: &Context<'_>, chain: &Chain, depth: usize) -> Option<String> {
    let blocking = &cx.catalog().blocking;
    let mut ty = if chain.called {
        blocking.returns.get(&chain.root.joined()).filter(|_| chain.root.is_external())?.clone()
    } else {
        // A variable: what its `let` made, or the type it was declared with.
        if chain.root.origin != Origin::Local || depth > 4 {
            return None;
        }
        let binding = cx.names().binding(chain.root.last())?;
        match &binding.init {
            Some(init) => receiver_type(cx, init, depth + 1)?,
            None => binding.ty.as_ref().filter(|t| t.is_external())?.joined(),
        }
    };
    for method in &chain.methods {
        let keeps_type = blocking.builders.get(&ty).is_some_and(|b| b.contains(method));
        if !(keeps_type || blocking.unwrap_methods.contains(method)) {
            ty = blocking.returns.get(&format!("{ty}::{method}"))?.clone();
        }
    }
    Some(ty)
}

/// What to write instead, in the crate's runtime.
fn help(api: &BlockingApi, runtime: Runtime) -> String {
    if let Some(any) = &api.any {
        return format!("use `{any}` instead");
    }
    let offload = &Catalog::get().blocking.offload;
    match (runtime, api.replacement.get(runtime), offload.get(runtime)) {
        (_, Some(Some(replacement)), _) => format!("use `{replacement}` instead"),
        (_, Some(None), Some(offload)) => format!("move the call to a blocking thread with `{offload}`"),
        _ => match &api.replacement.tokio {
            Some(replacement) => format!("use `{replacement}` or your runtime's equivalent"),
            None => {
                format!("move the call to a blocking thread with `{}` or your runtime's equivalent", offload.tokio)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::diagnostic::Diagnostic;
    use crate::engine::{lint_paths, lint_source, Options};

    fn findings(source: &str) -> Vec<Diagnostic> {
        let report = lint_source(Path::new("t.rs"), source);
        report.diagnostics.into_iter().filter(|d| d.rule == "blocking-in-async").collect()
    }

    /// Help and fix of each finding when `source` is `src/lib.rs` of a crate with `manifest`.
    fn in_crate(manifest: &str, source: &str) -> Vec<(String, Option<String>)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), source).unwrap();
        let report = lint_paths(&[dir.path().to_path_buf()], &Options::default()).unwrap();
        let diagnostics = report.files.into_iter().flat_map(|f| f.diagnostics);
        diagnostics
            .filter(|d| d.rule == "blocking-in-async")
            .map(|d| (d.help.unwrap_or_default(), d.fix.map(|f| f.edits[0].replacement.clone())))
            .collect()
    }

    const SLEEP: &str = "async fn f(d: std::time::Duration) { std::thread::sleep(d); }";

    #[test]
    fn help_and_fix_follow_the_crate_runtime() {
        let manifest = |deps: &str| format!("[package]\nname = \"app\"\nversion = \"0.1.0\"\n[dependencies]\n{deps}\n");
        let tokio = in_crate(&manifest("tokio = \"1\""), SLEEP);
        let expected = ("use `tokio::time::sleep(..).await` instead", "tokio::time::sleep(d).await");
        assert_eq!(tokio, [(expected.0.to_string(), Some(expected.1.to_string()))]);
        let async_std = in_crate(&manifest("async-std = \"1\""), SLEEP);
        assert_eq!(async_std[0].1.as_deref(), Some("async_std::task::sleep(d).await"));
        // `Timer::after` returns an `Instant`, not `()`: a hint, no fix.
        let smol = in_crate(&manifest("smol = \"2\""), SLEEP);
        assert_eq!(smol, [("use `smol::Timer::after(..).await` instead".to_string(), None)]);
        let unknown = in_crate(&manifest("futures = \"0.3\""), SLEEP);
        let expected = "use `tokio::time::sleep(..).await` or your runtime's equivalent";
        assert_eq!(unknown, [(expected.to_string(), None)]);
    }

    #[test]
    fn without_a_replacement_the_help_names_the_runtime_offload() {
        let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n[dependencies]\nsmol = \"2\"\n";
        let source = "async fn f() { ureq::get(\"http://x\").call(); }";
        let expected = "move the call to a blocking thread with `smol::unblock(..)`";
        assert_eq!(in_crate(manifest, source), [(expected.to_string(), None)]);
    }

    #[test]
    fn the_fix_keeps_the_arguments_and_needs_await() {
        let fixes = |source: &str| -> Vec<_> { findings(source).into_iter().map(|d| d.fix.is_some()).collect() };
        // No Cargo.toml: the runtime is unknown, so no fix.
        assert_eq!(fixes(SLEEP), [false]);
        let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n[dependencies]\ntokio = \"1\"\n";
        let source = "async fn f() { let s = std::fs::read_to_string( \"a\" )?; let g = || std::fs::read(\"b\"); }";
        let found = in_crate(manifest, source);
        assert_eq!(found[0].1.as_deref(), Some("tokio::fs::read_to_string( \"a\" ).await"));
        let fixed = source.replacen("std::fs::read_to_string( \"a\" )", found[0].1.as_deref().unwrap(), 1);
        syn::parse_file(&fixed).unwrap();
        assert_eq!(found[1].1, None);
        let file = "use std::fs::File; async fn f() { let f = File::open(\"a\")?; }";
        assert_eq!(in_crate(manifest, file)[0].1, None);
    }
}
