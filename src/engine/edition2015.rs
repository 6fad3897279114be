//! Edition 2015 allowed trait objects without `dyn`. syn 3 still reads `Box<Error + Send>`, but not
//! a bare `Fn(..)` sugar type (`type Action = Fn(&siginfo_t) + Send;`): it stops at the `(`. Files
//! that fail to parse get a second try with `dyn` put before such types, at the token level so
//! every span still points into the original text.

use proc_macro2::{Delimiter, Group, Ident, Spacing, TokenStream, TokenTree};

/// Parses `text` as if `dyn` stood before every bare `Fn`/`FnMut`/`FnOnce(..)` in a type position
/// that cannot be a bound. `None` when that does not make it parse either.
pub fn parse_with_dyn_fn_traits(text: &str) -> Option<syn::File> {
    let tokens: TokenStream = text.parse().ok()?;
    let mut changed = false;
    let tokens = insert_dyn(tokens, &mut changed);
    if !changed {
        return None;
    }
    syn::parse2(tokens).ok()
}

fn insert_dyn(tokens: TokenStream, changed: &mut bool) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), insert_dyn(group.stream(), changed));
                inner.set_span(group.span());
                out.push(TokenTree::Group(inner));
            }
            TokenTree::Ident(ident) if is_bare_fn_trait(&trees, i) => {
                out.push(TokenTree::Ident(Ident::new("dyn", ident.span())));
                out.push(tree.clone());
                *changed = true;
            }
            _ => out.push(tree.clone()),
        }
    }
    out.into_iter().collect()
}

/// `Fn(` after `=`, `<`, `&`, `&mut`, `&'a`, `,` or `->`: a type, never a bound (bounds follow
/// `:` or `+`, where `dyn` would be wrong).
fn is_bare_fn_trait(trees: &[TokenTree], i: usize) -> bool {
    let TokenTree::Ident(ident) = &trees[i] else { return false };
    if !matches!(ident.to_string().as_str(), "Fn" | "FnMut" | "FnOnce") {
        return false;
    }
    let followed_by_parens =
        matches!(trees.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
    if !followed_by_parens || i == 0 {
        return false;
    }
    match &trees[i - 1] {
        TokenTree::Punct(p) => matches!(p.as_char(), '=' | '<' | '&' | ',' | '>') && p.spacing() == Spacing::Alone,
        TokenTree::Ident(prev) if prev == "mut" => true,
        // The name of a lifetime in `&'a Fn()`.
        TokenTree::Ident(_) => {
            i >= 2
                && matches!(&trees[i - 2], TokenTree::Punct(p) if p.as_char() == '\'' && p.spacing() == Spacing::Joint)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_with_dyn_fn_traits;

    #[test]
    fn reads_bare_fn_trait_objects_and_keeps_spans() {
        let text = "type Action = Fn(&siginfo_t) + Send + Sync;\nfn f(x: &Fn(u8), y: Box<FnMut() -> u8>, z: &'a FnOnce()) {}\n";
        assert!(syn::parse_str::<syn::File>(text).is_err(), "syn 3 no longer reads these");
        let file = parse_with_dyn_fn_traits(text).expect("parsed");
        let syn::Item::Type(alias) = &file.items[0] else { panic!() };
        let syn::Type::TraitObject(object) = &*alias.ty else { panic!("not a trait object") };
        assert_eq!(object.bounds.len(), 3);
        let span = syn::spanned::Spanned::span(&file.items[1]);
        assert_eq!(span.byte_range(), text.find("fn f").unwrap()..text.len() - 1);
    }

    #[test]
    fn leaves_bounds_alone_and_gives_up_on_other_errors() {
        assert!(parse_with_dyn_fn_traits("fn f<F: Fn()>(x: Box<Fn() + Send>) where F: Fn() {}").is_some());
        assert!(parse_with_dyn_fn_traits("fn f<F: Fn()>() {}").is_none(), "nothing to change");
        assert!(parse_with_dyn_fn_traits("type A = Fn(); fn g( {}").is_none());
    }
}
