//! A panic while analysing one file becomes an `internal-error` finding for that file: the run
//! goes on, and the user sees where it happened instead of a backtrace in the middle of the output.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while this thread analyses a file: its panics are reported as findings.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// Where the last guarded panic on this thread happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keeps panics inside `catch` quiet (they become findings); any other panic is printed as usual.
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.get() {
                let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
                LOCATION.set(location);
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `f`; a panic in it becomes `Err("panicked at src/x.rs:12: message")`.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let was_guarded = GUARDED.replace(true);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.set(was_guarded);
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        match LOCATION.take() {
            Some(location) => format!("panicked at {location}: {message}"),
            None => format!("panicked: {message}"),
        }
    })
}
