//! Output formats, all built from the same `Report`.

pub mod full;
pub mod json;
