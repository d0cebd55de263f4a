//! The code snippets send exactly the body the page sends. Each test reads the body back
//! out of the snippet the way its language would: a POSIX shell for cURL, the string
//! literal rules of JavaScript and of Python for the others.

use flexedit_api::{
    EditParams, EditRequest, KEY_PLACEHOLDER, Mode, PromptObject, edit_snippets,
    edit_snippets_async, upload_snippets,
};
use proptest::prelude::*;

/// Splits a command line into words as a POSIX shell does (quotes, backslashes, and
/// backslash-newline continuations; no expansions, which single quotes prevent anyway).
fn shell_words(script: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('$' | '`' | '"' | '\\')) => w.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(c @ ('$' | '`')) => {
                            return Err(format!("expansion {c} in double quotes"));
                        }
                        Some(c) => w.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("trailing backslash".into()),
            },
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '$' | '`' | ';' | '&' | '|' | '<' | '>' | '(' | ')' | '*' | '?' | '[' | '#' | '~' => {
                return Err(format!("unquoted shell metacharacter {c:?}"));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    Ok(words)
}

fn hex_digits(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    n: usize,
) -> Result<u32, String> {
    let mut v = 0;
    for _ in 0..n {
        let d = chars
            .next()
            .and_then(|c| c.to_digit(16))
            .ok_or("bad hex escape")?;
        v = v * 16 + d;
    }
    Ok(v)
}

/// Reads a double-quoted JavaScript string literal at the start of `src`, returning its
/// value and what follows it. Follows ECMAScript: `\uXXXX` are UTF-16 code units, so a
/// surrogate pair makes one character and a lone surrogate is refused here.
fn js_string(src: &str) -> Result<(String, &str), String> {
    let mut chars = src
        .strip_prefix('"')
        .ok_or("no opening quote")?
        .chars()
        .peekable();
    let mut units: Vec<u16> = Vec::new();
    let push = |units: &mut Vec<u16>, c: char| {
        let mut buf = [0u16; 2];
        units.extend_from_slice(c.encode_utf16(&mut buf));
    };
    let mut consumed = 1;
    loop {
        let c = chars.next().ok_or("unterminated literal")?;
        consumed += c.len_utf8();
        match c {
            '"' => break,
            '\n' | '\r' => return Err("line break inside a literal".into()),
            '\\' => {
                let e = chars.next().ok_or("dangling backslash")?;
                consumed += e.len_utf8();
                match e {
                    'n' => push(&mut units, '\n'),
                    'r' => push(&mut units, '\r'),
                    't' => push(&mut units, '\t'),
                    'b' => push(&mut units, '\u{8}'),
                    'f' => push(&mut units, '\u{c}'),
                    'v' => push(&mut units, '\u{b}'),
                    '0' if !chars.peek().is_some_and(char::is_ascii_digit) => {
                        push(&mut units, '\0')
                    }
                    'x' => {
                        let v = hex_digits(&mut chars, 2)?;
                        consumed += 2;
                        units.push(v as u16);
                    }
                    'u' => {
                        let v = hex_digits(&mut chars, 4)?;
                        consumed += 4;
                        units.push(v as u16);
                    }
                    '\n' => {}
                    c if c.is_ascii_digit() => return Err("octal escape".into()),
                    c => push(&mut units, c),
                }
            }
            c => push(&mut units, c),
        }
    }
    let value = String::from_utf16(&units).map_err(|_| "lone surrogate".to_string())?;
    Ok((value, src.get(consumed..).ok_or("cut")?))
}

/// Reads a double-quoted Python 3 str literal at the start of `src`. In Python `\uXXXX`
/// is one code point, so a surrogate escape would make a string that cannot be encoded
/// as UTF-8: refused here.
fn py_string(src: &str) -> Result<(String, &str), String> {
    let mut chars = src
        .strip_prefix('"')
        .ok_or("no opening quote")?
        .chars()
        .peekable();
    let mut out = String::new();
    let mut consumed = 1;
    let code_point = |v: u32| char::from_u32(v).ok_or_else(|| format!("invalid code point {v:x}"));
    loop {
        let c = chars.next().ok_or("unterminated literal")?;
        consumed += c.len_utf8();
        match c {
            '"' => break,
            '\n' => return Err("line break inside a literal".into()),
            '\\' => {
                let e = chars.next().ok_or("dangling backslash")?;
                consumed += e.len_utf8();
                match e {
                    '\n' => {}
                    '\\' | '\'' | '"' => out.push(e),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\u{b}'),
                    'x' => {
                        out.push(code_point(hex_digits(&mut chars, 2)?)?);
                        consumed += 2;
                    }
                    'u' => {
                        out.push(code_point(hex_digits(&mut chars, 4)?)?);
                        consumed += 4;
                    }
                    'U' => {
                        out.push(code_point(hex_digits(&mut chars, 8)?)?);
                        consumed += 8;
                    }
                    '0'..='7' | 'N' => return Err(format!("escape \\{e} not expected")),
                    // Python keeps unknown escapes as they are.
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            c => out.push(c),
        }
    }
    Ok((out, src.get(consumed..).ok_or("cut")?))
}

fn curl_body(curl: &str) -> String {
    let words = shell_words(curl).unwrap();
    let at = words.iter().position(|w| w == "--data-raw").unwrap();
    words[at + 1].clone()
}

fn js_body(js: &str) -> String {
    let at = js.find("\n  body: ").unwrap() + "\n  body: ".len();
    let (value, rest) = js_string(&js[at..]).unwrap();
    assert!(rest.starts_with(",\n"), "{rest}");
    value
}

fn py_body(py: &str) -> String {
    let at = py.find("\nbody = ").unwrap() + "\nbody = ".len();
    let (value, rest) = py_string(&py[at..]).unwrap();
    assert!(rest.starts_with('\n'), "{rest}");
    value
}

fn request_with_prompt(prompt: &str) -> EditRequest {
    EditRequest::new(PromptObject {
        image_url: "images/a.png".into(),
        prompt: prompt.into(),
        aspect_ratio: None,
        output_format: None,
        output_quality: None,
        steps: Some(8),
        guidance: Some(3.5),
        safety_tolerance: None,
        prompt_upsampling: None,
        seed: Some(7),
    })
}

fn assert_bodies_exact(request: &EditRequest) {
    let body = request.to_json();
    for mode in [Mode::Direct, Mode::Proxy] {
        let s = edit_snippets("https://api.1min.ai", request, mode);
        assert_eq!(curl_body(&s.curl), body, "curl:\n{}", s.curl);
        assert_eq!(js_body(&s.javascript), body, "js:\n{}", s.javascript);
        assert_eq!(py_body(&s.python), body, "python:\n{}", s.python);
    }
}

const NASTY: &[&str] = &[
    "Add the text SALE 50% OFF in bold red letters at the top",
    "it's \"quoted\" and 'single' and `backticks` and $HOME and $(rm -rf /)",
    "back\\slash \\n not a newline, \\' \\\" \\u0041",
    "line one\nline two\r\nline three\ttabbed",
    "'''",
    "'",
    "\"",
    "\\",
    "ünïcödé — 日本語 — emoji 🎉👩‍👩‍👧 — rtl עברית",
    "line\u{2028}separator\u{2029}paragraph",
    "control \u{0}\u{1}\u{1b}[31m\u{7f}\u{85}",
    "%s %d {0} ${x} #{y} {{z}}",
    "--data-raw '@/etc/passwd'",
    "",
];

#[test]
fn nasty_prompts_survive_every_language() {
    for prompt in NASTY {
        assert_bodies_exact(&request_with_prompt(prompt));
    }
}

#[test]
fn a_validated_request_survives_every_language() {
    let request = EditParams {
        image_url: "https://example.com/it's%20a.png?x=1&y='2'".into(),
        prompt: NASTY[1].into(),
        ..EditParams::default()
    }
    .validate()
    .unwrap();
    assert_bodies_exact(&request);
}

#[test]
fn direct_mode_shows_the_placeholder_key_and_proxy_mode_none() {
    let request = request_with_prompt("x");
    let direct = edit_snippets("https://api.1min.ai/", &request, Mode::Direct);
    let proxy = edit_snippets("https://proxy.example", &request, Mode::Proxy);
    let upload_direct = upload_snippets("https://api.1min.ai", "cat.png", Mode::Direct);
    let upload_proxy = upload_snippets("https://proxy.example/", "cat.png", Mode::Proxy);
    for s in [&direct, &upload_direct] {
        for code in [&s.curl, &s.javascript, &s.python] {
            assert!(code.contains(KEY_PLACEHOLDER), "{code}");
            assert!(code.contains("API-KEY"), "{code}");
        }
    }
    for s in [&proxy, &upload_proxy] {
        for code in [&s.curl, &s.javascript, &s.python] {
            assert!(!code.contains(KEY_PLACEHOLDER), "{code}");
            assert!(!code.contains("API-KEY"), "{code}");
        }
    }
    let words = shell_words(&direct.curl).unwrap();
    assert_eq!(
        words[..8],
        [
            "curl",
            "-X",
            "POST",
            "https://api.1min.ai/api/features",
            "-H",
            "API-KEY: YOUR_API_KEY",
            "-H",
            "Content-Type: application/json"
        ]
    );
    assert!(
        proxy
            .javascript
            .contains("\"https://proxy.example/api/features\"")
    );
    assert!(
        proxy
            .python
            .contains("url = \"https://proxy.example/api/features\"")
    );
    assert!(
        direct
            .python
            .contains("\"Content-Type\": \"application/json\"")
    );
}

#[test]
fn upload_snippets_name_the_asset_field() {
    let s = upload_snippets("https://api.1min.ai", "cat.png", Mode::Direct);
    let words = shell_words(&s.curl).unwrap();
    assert_eq!(
        words,
        [
            "curl",
            "-X",
            "POST",
            "https://api.1min.ai/api/assets",
            "-H",
            "API-KEY: YOUR_API_KEY",
            "-F",
            "asset=@cat.png"
        ]
    );
    assert!(
        s.javascript
            .contains("form.append(\"asset\", file, \"cat.png\");")
    );
    assert!(s.javascript.contains("\"https://api.1min.ai/api/assets\""));
    assert!(
        !s.javascript.contains("Content-Type"),
        "the browser sets the boundary"
    );
    assert!(
        s.python
            .contains("files={\"asset\": (\"cat.png\", image, \"image/png\")}")
    );
}

#[test]
fn awkward_file_names_are_quoted_for_curl() {
    let s = upload_snippets("https://api.1min.ai", "it's;a \"b\".png", Mode::Proxy);
    let words = shell_words(&s.curl).unwrap();
    assert_eq!(words.last().unwrap(), "asset=@\"it's;a \\\"b\\\".png\"");
    let line = s
        .python
        .lines()
        .find(|l| l.starts_with("with open("))
        .unwrap();
    let (name, _) = py_string(&line["with open(".len()..]).unwrap();
    assert_eq!(name, "it's;a \"b\".png");
    let line = s
        .javascript
        .lines()
        .find(|l| l.starts_with("form.append("))
        .unwrap();
    let (name, _) = js_string(&line["form.append(\"asset\", file, ".len()..]).unwrap();
    assert_eq!(name, "it's;a \"b\".png");
}

#[test]
fn the_unquoters_themselves_work() {
    assert_eq!(
        shell_words("a 'b c' \"d\\\"e\" f\\ g 'it'\\''s' \\\n h").unwrap(),
        ["a", "b c", "d\"e", "f g", "it's", "h"]
    );
    assert!(shell_words("echo $HOME").is_err());
    assert!(shell_words("'open").is_err());
    assert_eq!(
        js_string(r#""\ud83c\udf89" x"#).unwrap(),
        ("🎉".into(), " x")
    );
    assert!(js_string(r#""\ud83c""#).is_err());
    assert_eq!(py_string(r#""\U0001f389\x41""#).unwrap().0, "🎉A");
    assert!(py_string(r#""\ud83c""#).is_err());
}

proptest! {
    #[test]
    fn any_prompt_survives_every_language(prompt in any::<String>()) {
        assert_bodies_exact(&request_with_prompt(&prompt));
    }

    #[test]
    fn any_image_url_and_prompt_survive(url in "\\PC*", prompt in "[\\x00-\\x7f\u{80}-\u{10ffff}]{0,40}") {
        let mut request = request_with_prompt(&prompt);
        request.prompt_object.image_url = url;
        assert_bodies_exact(&request);
    }

    #[test]
    fn any_file_name_is_quoted_for_the_shell(name in any::<String>(), endpoint in "[ -~]{0,30}") {
        let s = upload_snippets(&endpoint, &name, Mode::Direct);
        let words = shell_words(&s.curl).unwrap();
        prop_assert_eq!(words.len(), 8);
        prop_assert!(words[7].starts_with("asset=@"));
    }
}

fn assert_async_bodies_exact(request: &EditRequest) {
    let body = request.to_json_async();
    for mode in [Mode::Direct, Mode::Proxy] {
        let s = edit_snippets_async("https://api.1min.ai", request, mode);
        // The submit is the first command; the poll after it is shown for copying by hand.
        let submit = s.curl.split("\n\n#").next().unwrap();
        assert_eq!(curl_body(submit), body, "curl:\n{}", s.curl);
        assert_eq!(js_body(&s.javascript), body, "js:\n{}", s.javascript);
        assert_eq!(py_body(&s.python), body, "python:\n{}", s.python);
    }
}

#[test]
fn nasty_prompts_survive_every_language_asynchronously() {
    for prompt in NASTY {
        assert_async_bodies_exact(&request_with_prompt(prompt));
    }
}

#[test]
fn the_asynchronous_variant_leaves_the_synchronous_snippets_as_they_were() {
    let request = request_with_prompt("x");
    for mode in [Mode::Direct, Mode::Proxy] {
        let sync = edit_snippets("https://api.1min.ai", &request, mode);
        let later = edit_snippets_async("https://api.1min.ai", &request, mode);
        assert_ne!(sync, later);
        assert!(!sync.curl.contains("async"), "{}", sync.curl);
        assert!(!sync.javascript.contains("/api/results/"));
        assert!(!sync.python.contains("/api/results/"));
    }
}

#[test]
fn asynchronous_snippets_are_exactly_these_bytes() {
    let request = request_with_prompt("x");
    let body = r#"{"type":"IMAGE_EDITOR","model":"black-forest-labs/flux-2-flex","promptObject":{"imageUrl":"images/a.png","prompt":"x","steps":8,"guidance":3.5,"seed":7},"async":true}"#;
    let quoted = serde_json::to_string(body).unwrap();
    let proxy = edit_snippets_async("https://proxy.example", &request, Mode::Proxy);
    assert_eq!(
        proxy.curl,
        format!(
            "curl -X POST 'https://proxy.example/api/features' \\\n  \
             -H 'Content-Type: application/json' \\\n  \
             --data-raw '{body}'\n\n\
             # The answer names the record (aiRecord.uuid) at once; ask for it until\n\
             # its status is no longer PROCESSING:\n\
             curl 'https://proxy.example/api/results/RECORD_UUID'"
        )
    );
    assert_eq!(
        proxy.javascript,
        format!(
            "const response = await fetch(\"https://proxy.example/api/features\", {{\n  \
             method: \"POST\",\n  headers: {{\n    \
             \"Content-Type\": \"application/json\",\n  }},\n  \
             body: {quoted},\n}});\n\
             // The answer names the record at once; the edit runs on without this connection.\n\
             let {{ aiRecord }} = await response.json();\n\
             while (aiRecord && aiRecord.status === \"PROCESSING\") {{\n  \
             await new Promise((done) => setTimeout(done, 5000));\n  \
             const poll = await fetch(\"https://proxy.example/api/results/\" + aiRecord.uuid);\n  \
             ({{ aiRecord }} = await poll.json());\n}}\n\
             console.log(aiRecord?.status, aiRecord?.temporaryUrl);\n"
        )
    );
    let direct = edit_snippets_async("https://api.1min.ai/", &request, Mode::Direct);
    assert!(direct.curl.ends_with(
        "curl 'https://api.1min.ai/api/results/RECORD_UUID' \\\n  -H 'API-KEY: YOUR_API_KEY'"
    ));
    assert!(direct.javascript.contains(
        "fetch(\"https://api.1min.ai/api/results/\" + aiRecord.uuid, { headers: { \"API-KEY\": \"YOUR_API_KEY\" } });"
    ));
    assert!(
        direct
            .python
            .contains("results = \"https://api.1min.ai/api/results/\"\n")
    );
    assert!(
        direct
            .python
            .contains("requests.get(results + record[\"uuid\"], headers=headers")
    );
}
