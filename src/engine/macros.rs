//! Macros whose arguments are Rust code, parsed so that rules see inside them. Anything else
//! (including every `macro_rules!` definition) stays opaque tokens and is never reported.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Macro, Pat, Token};

use super::syntax::macro_name;

type ArgsParser = fn(ParseStream) -> syn::Result<Vec<Expr>>;

/// How to parse the arguments of the macro named `name`, if it is one we look into.
fn parser(name: &str) -> Option<ArgsParser> {
    Some(match name {
        "select" | "select_biased" => parse_select,
        "join" | "try_join" => parse_join,
        "vec" => parse_vec,
        "format" | "format_args" | "print" | "println" | "eprint" | "eprintln" | "write" | "writeln" | "panic"
        | "assert" | "assert_eq" | "assert_ne" | "debug_assert" | "debug_assert_eq" | "debug_assert_ne"
        | "unreachable" | "todo" | "unimplemented" | "dbg" | "trace" | "debug" | "info" | "warn" | "error" => {
            parse_list
        }
        _ => return None,
    })
}

/// Is this a macro whose arguments we look into (even if this call's arguments do not parse,
/// such as `info!(%x, "..")`)?
pub fn is_known(mac: &Macro) -> bool {
    parser(&macro_name(mac)).is_some()
}

/// The expressions inside a known macro call, or `None` for a macro we do not look into or whose
/// arguments do not parse as expected.
pub fn expressions(mac: &Macro) -> Option<Vec<Expr>> {
    let name = macro_name(mac);
    let parser = parser(&name)?;
    // Most calls are `info!("..", x, y)`: build those without the expression parser.
    if !matches!(name.as_str(), "select" | "select_biased") {
        if let Some(exprs) = plain_list(&mac.tokens) {
            return Some(exprs);
        }
    }
    parser.parse2(mac.tokens.clone()).ok()
}

/// `a, "b", 1,`: the expressions of a list whose items are each a literal or a name that is not a
/// keyword, built as the parser would build them; `None` for anything else. Only `select!`
/// parses such a list differently (it fails), so every other parser may be skipped for it.
fn plain_list(tokens: &TokenStream) -> Option<Vec<Expr>> {
    let mut exprs = Vec::new();
    let mut tokens = tokens.clone().into_iter();
    while let Some(token) = tokens.next() {
        let expr = match token {
            TokenTree::Literal(lit) => Expr::Lit(syn::ExprLit { attrs: Vec::new(), lit: syn::Lit::new(lit) }),
            TokenTree::Ident(ident) if ident == "true" || ident == "false" => {
                let lit = syn::LitBool::new(ident == "true", ident.span());
                Expr::Lit(syn::ExprLit { attrs: Vec::new(), lit: syn::Lit::Bool(lit) })
            }
            TokenTree::Ident(ident) if !is_keyword(&ident) => {
                Expr::Path(syn::ExprPath { attrs: Vec::new(), qself: None, path: ident.into() })
            }
            _ => return None,
        };
        exprs.push(expr);
        match tokens.next() {
            None => break,
            Some(TokenTree::Punct(p)) if p.as_char() == ',' && p.spacing() == proc_macro2::Spacing::Alone => {}
            Some(_) => return None,
        }
    }
    Some(exprs)
}

/// A keyword, which alone is not a path expression (`break`, `self` is one but `crate` is not).
fn is_keyword(ident: &proc_macro2::Ident) -> bool {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "fn", "for",
        "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
        "static", "struct", "super", "trait", "type", "unsafe", "use", "where", "while", "abstract", "become", "box",
        "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "_",
        "union", "auto", "default", "raw", "safe",
    ];
    KEYWORDS.iter().any(|k| ident == k)
}

fn parse_list(input: ParseStream) -> syn::Result<Vec<Expr>> {
    Ok(Punctuated::<Expr, Token![,]>::parse_terminated(input)?.into_iter().collect())
}

fn parse_vec(input: ParseStream) -> syn::Result<Vec<Expr>> {
    let fork = input.fork();
    if let Ok(repeat) = parse_repeat(&fork) {
        use syn::parse::discouraged::Speculative;
        input.advance_to(&fork);
        return Ok(repeat);
    }
    parse_list(input)
}

fn parse_repeat(input: ParseStream) -> syn::Result<Vec<Expr>> {
    let elem: Expr = input.parse()?;
    input.parse::<Token![;]>()?;
    let len: Expr = input.parse()?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens"));
    }
    Ok(vec![elem, len])
}

fn skip_biased(input: ParseStream) -> syn::Result<()> {
    if input.peek(syn::Ident) && input.peek2(Token![;]) {
        input.parse::<syn::Ident>()?;
        input.parse::<Token![;]>()?;
    }
    Ok(())
}

fn parse_join(input: ParseStream) -> syn::Result<Vec<Expr>> {
    skip_biased(input)?;
    parse_list(input)
}

/// `tokio::select!` / `futures::select!` branches: `pat = future (, if guard)? => handler`, plus
/// `else =>`, `default =>`, `complete =>` and `biased;`.
fn parse_select(input: ParseStream) -> syn::Result<Vec<Expr>> {
    let mut exprs = Vec::new();
    skip_biased(input)?;
    while !input.is_empty() {
        if input.peek(Token![else]) && input.peek2(Token![=>]) {
            input.parse::<Token![else]>()?;
        } else if input.peek(syn::Ident) && input.peek2(Token![=>]) {
            input.parse::<syn::Ident>()?;
        } else {
            Pat::parse_multi_with_leading_vert(input)?;
            input.parse::<Token![=]>()?;
            exprs.push(input.parse()?);
            if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                exprs.push(input.parse()?);
            }
        }
        input.parse::<Token![=>]>()?;
        exprs.push(input.call(Expr::parse_with_earlier_boundary_rule)?);
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(exprs)
}

#[cfg(test)]
mod tests {
    use super::expressions;

    fn count(src: &str) -> Option<usize> {
        let mac: syn::Macro = syn::parse_str(src).unwrap();
        expressions(&mac).map(|e| e.len())
    }

    #[test]
    fn parses_the_arguments_of_known_macros() {
        assert_eq!(
            count("tokio::select! { biased; Some(x) = rx.recv(), if ok => { x } _ = t.tick() => {} else => break }"),
            Some(6)
        );
        assert_eq!(count("futures::select! { a = f => 1, default => 2, complete => 3 }"), Some(4));
        assert_eq!(count("tokio::join!(a(), b())"), Some(2));
        assert_eq!(count("vec![x; n]"), Some(2));
        assert_eq!(count("println!(\"{}\", f().await)"), Some(2));
        assert_eq!(count("info!(%x, \"y\")"), None);
        assert_eq!(count("my_macro!(a, b)"), None);
        assert!(super::is_known(&syn::parse_str("tracing::info!(%x, \"y\")").unwrap()));
        assert!(!super::is_known(&syn::parse_str("my_macro!(a, b)").unwrap()));
    }

    #[test]
    fn plain_lists_are_built_as_the_parser_builds_them() {
        for src in
            ["\"a {} {b}\", x, 1.5f32, b'c', true, r#type,", "", "false", "x y", "a,,b", "self, crate", "-1", "a = 1"]
        {
            let tokens: proc_macro2::TokenStream = src.parse().unwrap();
            let parsed = syn::parse::Parser::parse2(super::parse_list, tokens.clone()).ok();
            if let Some(built) = super::plain_list(&tokens) {
                // Without syn's `extra-traits`: compare the kinds and the tokens of each expression.
                let shape = |exprs: &[syn::Expr]| -> Vec<_> {
                    use quote::ToTokens;
                    let lit = |e: &syn::Expr| match e {
                        syn::Expr::Lit(l) => Some(std::mem::discriminant(&l.lit)),
                        _ => None,
                    };
                    exprs.iter().map(|e| (std::mem::discriminant(e), lit(e), e.to_token_stream().to_string())).collect()
                };
                assert_eq!(Some(shape(&built)), parsed.as_deref().map(shape), "{src}");
            }
        }
        let tokens: proc_macro2::TokenStream = "\"a\", x, 1, true,".parse().unwrap();
        assert_eq!(super::plain_list(&tokens).map(|e| e.len()), Some(4));
        let tokens: proc_macro2::TokenStream = "x.len()".parse().unwrap();
        assert!(super::plain_list(&tokens).is_none());
    }
}
