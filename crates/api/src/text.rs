//! Small text helpers shared by the modules: number formatting for people, and cutting
//! untrusted text down to something that fits in a sentence.

/// Formats a number the way a person writes it: `4`, not `4.0`; `3.5` stays `3.5`.
pub(crate) fn fmt_num(v: f64) -> String {
    // Beyond 2^53 a whole f64 no longer maps to one integer, so let the float printer decide.
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// At most `max` characters of `s`, with an ellipsis when something was cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => {
            let mut out = s.get(..cut).unwrap_or_default().trim_end().to_owned();
            out.push('…');
            out
        }
    }
}

/// Collapses runs of whitespace and drops control characters, so provider text read from a
/// body can be shown on one line.
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(1024));
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if !c.is_control() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Adds a full stop unless the text already ends a sentence, so provider messages can be
/// embedded in our own sentences.
pub(crate) fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.ends_with(['.', '!', '?', '…']) {
        s.to_owned()
    } else {
        format!("{s}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_people_write_them() {
        assert_eq!(fmt_num(4.0), "4");
        assert_eq!(fmt_num(3.5), "3.5");
        assert_eq!(fmt_num(-0.0), "0");
        assert_eq!(fmt_num(4_294_967_295.0), "4294967295");
        assert_eq!(fmt_num(f64::NAN), "NaN");
        assert_eq!(fmt_num(1e300), format!("{}", 1e300));
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 10), "héllo");
        assert_eq!(truncate_chars("héllo wörld", 7), "héllo w…");
        assert_eq!(truncate_chars("héllo wörld", 6), "héllo…");
        assert_eq!(truncate_chars("", 0), "");
        assert_eq!(truncate_chars("ab", 0), "…");
    }

    #[test]
    fn one_line_collapses_whitespace() {
        assert_eq!(one_line("  a \n\t b\u{7}c  "), "a bc");
        assert_eq!(sentence("Done"), "Done.");
        assert_eq!(sentence("Done!"), "Done!");
    }
}
