//! `block-on-in-async` through the crate's own sync fns, across files: the finding is at the call
//! in async code, and its note says in which file and where the `block_on` is.

mod common;

use common::{diagnostics, json, run, stdout, write};

const DB: &str = "use futures::executor::block_on;

pub fn query() -> u32 {
    block_on(fetch())
}

pub fn query_twice() -> u32 {
    query() + query()
}
";

const HANDLER: &str = "use crate::db::query_twice;

pub async fn handler() -> u32 {
    query_twice()
}
";

#[test]
fn a_blocking_helper_in_another_file_is_flagged_at_the_call_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", "[package]\nname = \"app\"\n");
    write(dir.path(), "src/db.rs", DB);
    write(dir.path(), "src/lib.rs", HANDLER);
    let (code, value) = json(&["src"], dir.path());
    assert_eq!(code, 1);
    let found = diagnostics(&value);
    assert_eq!(found.len(), 1, "{value:#}");
    let finding = &found[0];
    assert_eq!(finding["rule"], "block-on-in-async");
    assert_eq!((finding["path"].as_str(), finding["line"].as_u64()), (Some("src/lib.rs"), Some(4)));
    assert_eq!(finding["message"], "`query_twice` blocks on a future and is called inside async code");
    let note = "`query_twice` calls `query`, which calls `futures::executor::block_on` at src/db.rs:4:5";
    assert_eq!(finding["notes"], serde_json::json!([note]));

    let human = stdout(&run(&["check", "src", "--color", "never"], dir.path()));
    assert!(human.contains(&format!("= note: {note}")), "{human}");
}

#[test]
fn another_crate_of_the_same_tree_does_not_make_a_helper_blocking() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "db/Cargo.toml", "[package]\nname = \"db\"\n");
    write(dir.path(), "db/src/lib.rs", DB);
    write(dir.path(), "app/Cargo.toml", "[package]\nname = \"app\"\n");
    write(dir.path(), "app/src/lib.rs", "pub async fn handler() -> u32 {\n    query_twice()\n}\n");
    let (code, value) = json(&["."], dir.path());
    assert_eq!((code, diagnostics(&value).len()), (0, 0), "{value:#}");
}

#[test]
fn a_name_that_does_not_block_in_every_file_is_not_flagged() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/db.rs", DB);
    write(dir.path(), "src/cache.rs", "pub fn query() -> u32 {\n    7\n}\n");
    write(dir.path(), "src/lib.rs", HANDLER);
    let (code, value) = json(&["src"], dir.path());
    assert_eq!((code, diagnostics(&value).len()), (0, 0), "{value:#}");
}
