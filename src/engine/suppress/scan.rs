//! A lexer just precise enough to say where the comments are: `//` inside a string, a raw string,
//! a char literal or a block comment starts no comment, and a lifetime (`'a`) opens no char
//! literal. Everything else is skipped a byte at a time (the delimiters are all ASCII, so this is
//! safe on UTF-8). Unterminated literals and comments run to the end of the text.

use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `// ..`, also `//// ..`.
    LineComment,
    /// `/// ..` or `//! ..`: an attribute to the parser, not a comment.
    DocLineComment,
    /// `/* .. */`, nested ones included.
    BlockComment,
    /// `/** .. */` or `/*! .. */`.
    DocBlockComment,
    /// A string, byte string, C string, raw string, char or byte literal.
    Literal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lexeme {
    pub kind: Kind,
    /// A line comment ends before its line break (`\n` or `\r\n`).
    pub range: Range<usize>,
}

impl Lexeme {
    /// A comment the parser drops (not a doc comment).
    pub fn is_plain_comment(&self) -> bool {
        matches!(self.kind, Kind::LineComment | Kind::BlockComment)
    }
}

/// The comments and literals of `text[from..]`, in order.
pub fn scan(text: &str, from: usize) -> Vec<Lexeme> {
    let bytes = text.as_bytes();
    let mut lexemes = Vec::new();
    let mut at = from;
    while at < bytes.len() {
        let (kind, end) = step(bytes, at);
        if let Some(kind) = kind {
            lexemes.push(Lexeme { kind, range: at..end });
        }
        at = end;
    }
    lexemes
}

/// What starts at `at`, if it is a comment or literal, and where scanning continues.
fn step(b: &[u8], at: usize) -> (Option<Kind>, usize) {
    match b[at] {
        b'/' if b.get(at + 1) == Some(&b'/') => line_comment(b, at),
        b'/' if b.get(at + 1) == Some(&b'*') => block_comment(b, at),
        b'"' => (Some(Kind::Literal), quoted(b, at + 1, b'"')),
        b'\'' => char_or_lifetime(b, at),
        c if c.is_ascii_digit() => (None, word_end(b, at)),
        c if is_word_byte(c) => prefixed_literal(b, at),
        _ => (None, at + 1),
    }
}

fn line_comment(b: &[u8], at: usize) -> (Option<Kind>, usize) {
    let mut end = b[at..].iter().position(|&c| c == b'\n').map_or(b.len(), |i| at + i);
    if end > at && b[end - 1] == b'\r' {
        end -= 1;
    }
    let doc = (b.get(at + 2) == Some(&b'/') && b.get(at + 3) != Some(&b'/')) || b.get(at + 2) == Some(&b'!');
    (Some(if doc { Kind::DocLineComment } else { Kind::LineComment }), end)
}

fn block_comment(b: &[u8], at: usize) -> (Option<Kind>, usize) {
    // `/**/` and `/*** ..` are plain comments.
    let doc =
        (b.get(at + 2) == Some(&b'*') && !matches!(b.get(at + 3), Some(b'*' | b'/'))) || b.get(at + 2) == Some(&b'!');
    let mut depth = 0usize;
    let mut i = at;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    break;
                }
            }
            _ => i += 1,
        }
    }
    (Some(if doc { Kind::DocBlockComment } else { Kind::BlockComment }), i.min(b.len()))
}

/// The end of a literal whose body starts at `at` and ends at an unescaped `quote`.
fn quoted(b: &[u8], mut at: usize, quote: u8) -> usize {
    while at < b.len() {
        match b[at] {
            b'\\' => at += 2,
            c if c == quote => return at + 1,
            _ => at += 1,
        }
    }
    b.len()
}

/// `'x'`, `'\n'`, `'é'` are char literals; `'a`, `'static`, `'outer:` are lifetimes and labels.
fn char_or_lifetime(b: &[u8], at: usize) -> (Option<Kind>, usize) {
    match b.get(at + 1) {
        Some(b'\\') => (Some(Kind::Literal), quoted(b, at + 1, b'\'')),
        Some(&lead) => {
            let after = at + 1 + utf8_len(lead);
            if b.get(after) == Some(&b'\'') {
                (Some(Kind::Literal), after + 1)
            } else {
                (None, at + 1)
            }
        }
        None => (None, at + 1),
    }
}

/// An identifier, or the prefix of a literal: `b".."`, `b'x'`, `c".."`, `r#".."#`, `br".."`,
/// `cr".."` (but `r#ident` is a raw identifier).
fn prefixed_literal(b: &[u8], at: usize) -> (Option<Kind>, usize) {
    let end = word_end(b, at);
    let literal_end = match (&b[at..end], b.get(end)) {
        (b"b" | b"c", Some(b'"')) => Some(quoted(b, end + 1, b'"')),
        (b"b", Some(b'\'')) => Some(quoted(b, end + 1, b'\'')),
        (b"r" | b"br" | b"cr", Some(b'"' | b'#')) => raw_string(b, end),
        _ => None,
    };
    match literal_end {
        Some(literal_end) => (Some(Kind::Literal), literal_end),
        None => (None, end),
    }
}

/// The end of a raw string whose hashes start at `at`, or `None` if this is no raw string.
fn raw_string(b: &[u8], at: usize) -> Option<usize> {
    let hashes = b[at..].iter().take_while(|&&c| c == b'#').count();
    if b.get(at + hashes) != Some(&b'"') {
        return None;
    }
    let closing: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
    let body = at + hashes + 1;
    Some(b[body..].windows(closing.len()).position(|w| w == closing).map_or(b.len(), |i| body + i + closing.len()))
}

fn word_end(b: &[u8], at: usize) -> usize {
    b[at..].iter().position(|&c| !is_word_byte(c)).map_or(b.len(), |i| at + i)
}

/// ASCII letters, digits and `_`, and any byte of a non-ASCII char (which may be an identifier's).
fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0..0x80 => 1,
        0xc0..0xe0 => 2,
        0xe0..0xf0 => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::{scan, Kind};

    /// `(kind, text)` of every comment and literal.
    fn lexemes(text: &str) -> Vec<(Kind, &str)> {
        scan(text, 0).into_iter().map(|l| (l.kind, &text[l.range])).collect()
    }

    fn comments(text: &str) -> Vec<&str> {
        scan(text, 0).into_iter().filter(|l| l.kind == Kind::LineComment).map(|l| &text[l.range]).collect()
    }

    #[test]
    fn line_comments_end_before_the_line_break() {
        assert_eq!(comments("a(); // one\nb(); // two\r\n// three"), ["// one", "// two", "// three"]);
    }

    #[test]
    fn doc_comments_are_told_apart_from_plain_ones() {
        let text = "/// doc\n//! inner\n//// plain\n// plain\n/** doc */ /*! inner */ /**/ /*** plain */ /* plain */";
        assert_eq!(
            lexemes(text),
            [
                (Kind::DocLineComment, "/// doc"),
                (Kind::DocLineComment, "//! inner"),
                (Kind::LineComment, "//// plain"),
                (Kind::LineComment, "// plain"),
                (Kind::DocBlockComment, "/** doc */"),
                (Kind::DocBlockComment, "/*! inner */"),
                (Kind::BlockComment, "/**/"),
                (Kind::BlockComment, "/*** plain */"),
                (Kind::BlockComment, "/* plain */"),
            ]
        );
    }

    #[test]
    fn comment_markers_inside_literals_are_not_comments() {
        assert!(comments(r#"let s = "// no"; let t = "a\" // no";"#).is_empty());
        assert!(comments(r###"let s = r#"" // no "#; let t = r##"x"# // no"##;"###).is_empty());
        assert!(comments(r#"let s = b"// no"; let c = c"// no"; let r = br"// no"; let q = cr"\"#).is_empty());
        assert!(comments("let c = '\"'; let d = \"// no\";").is_empty());
        assert!(comments("let q = '\\''; let s = \"// no\";").is_empty());
        assert!(comments("let b = b'\"'; let s = \"// no\";").is_empty());
    }

    #[test]
    fn nested_block_comments_end_at_their_own_close() {
        let text = "/* a /* b */ // not a comment */ // yes";
        assert_eq!(
            lexemes(text),
            [(Kind::BlockComment, "/* a /* b */ // not a comment */"), (Kind::LineComment, "// yes")]
        );
    }

    #[test]
    fn lifetimes_and_labels_open_no_char_literal() {
        let text = "fn f<'a>(x: &'a str) -> &'static str { 'outer: loop {} } // yes";
        assert_eq!(comments(text), ["// yes"]);
        assert_eq!(lexemes("let c = 'é'; // yes"), [(Kind::Literal, "'é'"), (Kind::LineComment, "// yes")]);
        assert_eq!(lexemes("let c = '\\u{1F600}'; // yes")[1], (Kind::LineComment, "// yes"));
    }

    #[test]
    fn raw_identifiers_and_prefixed_words_are_not_literals() {
        assert_eq!(lexemes("let r#type = bar; // yes"), [(Kind::LineComment, "// yes")]);
        assert_eq!(lexemes("let rb = 1u8 + 0x1f; // yes"), [(Kind::LineComment, "// yes")]);
    }

    #[test]
    fn unterminated_input_ends_at_the_end_of_the_text() {
        assert_eq!(lexemes("\"open // no"), [(Kind::Literal, "\"open // no")]);
        assert_eq!(lexemes("/* open /* x */"), [(Kind::BlockComment, "/* open /* x */")]);
        assert_eq!(lexemes("r##\"open\"#"), [(Kind::Literal, "r##\"open\"#")]);
        assert_eq!(lexemes("'"), []);
        assert_eq!(lexemes("\"\\"), [(Kind::Literal, "\"\\")]);
    }

    #[test]
    fn any_prefix_scans_to_ranges_on_char_boundaries() {
        let text = "let s = r#\"é\"#; let c = 'é'; let b = b'\\''; /* /* é */ */ 'a: loop {} \"\\\"\" // é\n/// d";
        for end in (0..=text.len()).filter(|&end| text.is_char_boundary(end)) {
            let prefix = &text[..end];
            for lexeme in scan(prefix, 0) {
                let r = lexeme.range;
                assert!(r.start < r.end && r.end <= end, "{prefix:?}: {r:?}");
                assert!(prefix.is_char_boundary(r.start) && prefix.is_char_boundary(r.end), "{prefix:?}: {r:?}");
            }
        }
    }

    #[test]
    fn scanning_starts_at_the_given_offset() {
        let text = "#!/usr/bin/env x // not\n// yes";
        assert_eq!(scan(text, 17).len(), 2);
        assert_eq!(scan(text, 24).len(), 1);
    }
}
