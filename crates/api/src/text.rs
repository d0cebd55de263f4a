//! Small text helpers shared by the modules: number formatting for people, and cutting
//! untrusted text down to something that fits in a sentence.

/// 2^53: below it every whole number is an f64 and every f64 whole number is exact.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// The powers of ten an f64 holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Formats a number the way a person writes it: `4`, not `4.0`; `3.5` stays `3.5`; `0.1`,
/// not `0.1000000000000000055511151231257827`.
///
/// It writes the fewest digits that read back as the same number, like Rust's `{}`, for
/// every number with up to 15 significant digits and an exponent within ±22 (anything a
/// person types into the form); beyond that it keeps 15–16 significant digits, and numbers
/// below 10^-22 show as 0. It does not
/// use the float printer: its code and tables would cost the page's first load about 8 KB
/// (gzip), and a page that parses a typed number with the browser and shows numbers this way
/// needs neither.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    if a.is_infinite() {
        return format!("{sign}inf");
    }
    if a.fract() == 0.0 {
        if a < EXACT {
            return format!("{sign}{}", a as u64);
        }
        // The fewest digits n followed by zeros: n × 10^e is exact arithmetic on exact
        // operands, so it equals `a` exactly when the text reads back as `a`.
        for e in (1..POW10.len()).rev() {
            let n = (a / POW10[e]).round();
            if n < EXACT && n * POW10[e] == a {
                return format!("{sign}{}{}", n as u64, "0".repeat(e));
            }
        }
        // Past 10^22 the powers of ten are inexact: 16 digits close to the number.
        let mut zeros = 0;
        let mut scale = 1.0;
        while a / scale >= EXACT {
            zeros += 1;
            scale *= 10.0;
        }
        let mut n = (a / scale).round() as u64;
        while n > 0 && n.is_multiple_of(10) {
            n /= 10;
            zeros += 1;
        }
        return format!("{sign}{n}{}", "0".repeat(zeros));
    }
    // The fewest decimals k such that n / 10^k reads back as `a` (a correctly rounded
    // division of exact operands, like reading the text); past 2^53 n is no longer exact.
    let mut best = (a.round() as u64, 0);
    for (k, scale) in POW10.iter().enumerate().skip(1) {
        let n = (a * scale).round();
        if n >= EXACT {
            break;
        }
        best = (n as u64, k);
        if n / scale == a {
            break;
        }
    }
    format!("{sign}{}", with_point(best.0, best.1))
}

/// `n` with a decimal point before its last `decimals` digits, trailing zeros dropped.
fn with_point(n: u64, decimals: usize) -> String {
    let digits = format!("{n:0>width$}", width = decimals + 1);
    // Digits are ASCII, so the split always lands between two; the checked split keeps
    // the standard library's panic for a split inside a character out of the page.
    let (whole, fraction) = digits
        .split_at_checked(digits.len() - decimals)
        .unwrap_or((&digits, ""));
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
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
        assert_eq!(format_number(4.0), "4");
        assert_eq!(format_number(3.5), "3.5");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(-1.25), "-1.25");
        assert_eq!(format_number(0.1), "0.1");
        assert_eq!(format_number(0.001), "0.001");
        assert_eq!(format_number(2.123456789), "2.123456789");
        assert_eq!(format_number(1e-20), "0.00000000000000000001");
        assert_eq!(format_number(4_294_967_295.0), "4294967295");
        assert_eq!(format_number(1e20), "100000000000000000000");
        assert_eq!(format_number(f64::NAN), "NaN");
        assert_eq!(format_number(f64::NEG_INFINITY), "-inf");
        // Past 15 significant digits: 16 of them, close to the number.
        assert_eq!(format_number(0.1 + 0.2), "0.3000000000000001");
        assert_eq!(format_number(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(format_number(-2.5e30), "-2500000000000000000000000000000");
        assert_eq!(format_number(1e300), format!("{}", 1e300));
        assert_eq!(format_number(1e-300), "0");
    }

    /// Numbers a person types: as many as fit in 15 significant digits, with an exponent
    /// within ±22, print exactly as Rust's own float printer prints them.
    #[test]
    fn numbers_print_like_the_float_printer_within_fifteen_digits() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let digits = next() % 10u64.pow(1 + (next() % 15) as u32);
            let exponent = (next() % 30) as i32 - 22;
            let text = format!("{digits}e{exponent}");
            let v: f64 = text.parse().unwrap_or_default();
            if v == 0.0 || v.abs() >= 1e22 || v.abs() < 1e-22 {
                continue;
            }
            assert_eq!(format_number(v), format!("{v}"), "{text}");
            assert_eq!(format_number(-v), format!("{}", -v), "-{text}");
        }
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
