//! The requests the page sends, as code a person can copy: cURL, JavaScript and Python.
//! The key is always a placeholder, and each snippet sends exactly the bytes the page sends.

use std::fmt::Write as _;

use crate::request::EditRequest;

/// Shown where the key goes; a snippet never contains a real key.
pub const KEY_PLACEHOLDER: &str = "YOUR_API_KEY";

/// Where the page sends its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Straight to the provider, with the person's key in `API-KEY`.
    #[default]
    Direct,
    /// Through a proxy that adds the key, so the snippet has none.
    Proxy,
}

/// One request in three languages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snippets {
    pub curl: String,
    pub javascript: String,
    pub python: String,
}

/// `POST {endpoint}/api/assets` with the image in the multipart field `asset`.
pub fn upload_snippets(endpoint: &str, file_name: &str, mode: Mode) -> Snippets {
    let url = format!("{}/api/assets", base(endpoint));
    // Control characters cannot be passed on a command line and mean nothing in a name.
    let name: String = file_name
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let direct = mode == Mode::Direct;

    let mut curl = format!("curl -X POST {} \\\n", shell_quote(&url));
    if direct {
        let _ = writeln!(curl, "  -H {} \\", shell_quote(&key_header()));
    }
    let form_value = if name.contains([';', ',', '"', '\\']) || name.starts_with(' ') {
        // curl reads `;` and `,` in a -F file name as options unless the name is quoted.
        format!(
            "asset=@\"{}\"",
            name.replace('\\', "\\\\").replace('"', "\\\"")
        )
    } else {
        format!("asset=@{name}")
    };
    let _ = write!(curl, "  -F {}", shell_quote(&form_value));

    let lit = string_literal;
    let mut javascript = String::from(
        "// `file` is a File or Blob, e.g. from <input type=\"file\">.\n\
         const form = new FormData();\n",
    );
    let _ = writeln!(javascript, "form.append(\"asset\", file, {});", lit(&name));
    let _ = writeln!(javascript, "const response = await fetch({}, {{", lit(&url));
    javascript.push_str("  method: \"POST\",\n");
    if direct {
        let _ = writeln!(
            javascript,
            "  headers: {{ \"API-KEY\": {} }},",
            lit(KEY_PLACEHOLDER)
        );
    }
    javascript.push_str(
        "  body: form,\n\
         });\n\
         const data = await response.json();\n\
         // This path, unchanged, is the imageUrl of the edit.\n\
         const imageUrl = data.fileContent?.path ?? data.asset?.key;\n",
    );

    let mut python = String::from("import requests\n\n");
    let _ = writeln!(python, "url = {}", lit(&url));
    if direct {
        let _ = writeln!(
            python,
            "headers = {{\"API-KEY\": {}}}",
            lit(KEY_PLACEHOLDER)
        );
    }
    let file_tuple = match mime_for(&name) {
        Some(mime) => format!("({}, image, {})", lit(&name), lit(mime)),
        None => format!("({}, image)", lit(&name)),
    };
    let _ = write!(
        python,
        "\nwith open({}, \"rb\") as image:\n    response = requests.post(\n        url,\n",
        lit(&name)
    );
    if direct {
        python.push_str("        headers=headers,\n");
    }
    let _ = write!(
        python,
        "        files={{\"asset\": {file_tuple}}},\n        timeout=120,\n    )\n\
         data = response.json()\n\
         # This path, unchanged, is the imageUrl of the edit.\n\
         image_url = (data.get(\"fileContent\") or {{}}).get(\"path\") or data[\"asset\"][\"key\"]\n"
    );

    Snippets {
        curl,
        javascript,
        python,
    }
}

/// `POST {endpoint}/api/features` with exactly [`EditRequest::to_json`] as the body.
pub fn edit_snippets(endpoint: &str, request: &EditRequest, mode: Mode) -> Snippets {
    features_snippets(endpoint, request, mode, false)
}

/// `POST {endpoint}/api/features` with exactly [`EditRequest::to_json_async`] as the body,
/// then `GET {endpoint}/api/results/{uuid}` until the record is no longer `PROCESSING`.
pub fn edit_snippets_async(endpoint: &str, request: &EditRequest, mode: Mode) -> Snippets {
    features_snippets(endpoint, request, mode, true)
}

fn features_snippets(
    endpoint: &str,
    request: &EditRequest,
    mode: Mode,
    is_async: bool,
) -> Snippets {
    let url = format!("{}/api/features", base(endpoint));
    let results = format!("{}{}", base(endpoint), crate::record::RESULTS_ROUTE);
    let body = if is_async {
        request.to_json_async()
    } else {
        request.to_json()
    };
    let direct = mode == Mode::Direct;
    let lit = string_literal;

    let mut curl = format!("curl -X POST {} \\\n", shell_quote(&url));
    if direct {
        let _ = writeln!(curl, "  -H {} \\", shell_quote(&key_header()));
    }
    curl.push_str("  -H 'Content-Type: application/json' \\\n");
    // --data-raw sends the text as it is; -d would read a file for a body starting with @.
    let _ = write!(curl, "  --data-raw {}", shell_quote(&body));
    if is_async {
        curl.push_str(
            "\n\n# The answer names the record (aiRecord.uuid) at once; ask for it until\n\
             # its status is no longer PROCESSING:\n",
        );
        let poll = format!("{results}RECORD_UUID");
        let _ = write!(curl, "curl {}", shell_quote(&poll));
        if direct {
            let _ = write!(curl, " \\\n  -H {}", shell_quote(&key_header()));
        }
    }

    let mut javascript = format!("const response = await fetch({}, {{\n", lit(&url));
    javascript.push_str("  method: \"POST\",\n  headers: {\n");
    if direct {
        let _ = writeln!(javascript, "    \"API-KEY\": {},", lit(KEY_PLACEHOLDER));
    }
    javascript.push_str("    \"Content-Type\": \"application/json\",\n  },\n");
    let _ = writeln!(javascript, "  body: {},", lit(&body));
    if is_async {
        javascript.push_str(
            "});\n\
             // The answer names the record at once; the edit runs on without this connection.\n\
             let { aiRecord } = await response.json();\n\
             while (aiRecord && aiRecord.status === \"PROCESSING\") {\n  \
             await new Promise((done) => setTimeout(done, 5000));\n",
        );
        let _ = write!(
            javascript,
            "  const poll = await fetch({} + aiRecord.uuid",
            lit(&results)
        );
        if direct {
            let _ = write!(
                javascript,
                ", {{ headers: {{ \"API-KEY\": {} }} }}",
                lit(KEY_PLACEHOLDER)
            );
        }
        javascript.push_str(
            ");\n  \
             ({ aiRecord } = await poll.json());\n\
             }\n\
             console.log(aiRecord?.status, aiRecord?.temporaryUrl);\n",
        );
    } else {
        javascript.push_str(
            "});\n\
             // The edit usually takes 15-60 seconds; the answer comes when it is done.\n\
             const { aiRecord } = await response.json();\n\
             console.log(aiRecord.status, aiRecord.temporaryUrl);\n",
        );
    }

    let mut python = String::from(if is_async {
        "import time\n\nimport requests\n\n"
    } else {
        "import requests\n\n"
    });
    let _ = writeln!(python, "url = {}", lit(&url));
    if is_async {
        let _ = writeln!(python, "results = {}", lit(&results));
    }
    python.push_str("headers = {\n");
    if direct {
        let _ = writeln!(python, "    \"API-KEY\": {},", lit(KEY_PLACEHOLDER));
    }
    python.push_str("    \"Content-Type\": \"application/json\",\n}\n");
    let _ = writeln!(python, "body = {}", lit(&body));
    if is_async {
        python.push_str(
            "\n\
             # Encoded here: requests would send a str body as Latin-1.\n\
             # The answer names the record at once; the edit runs on without this connection.\n\
             response = requests.post(url, headers=headers, data=body.encode(\"utf-8\"), timeout=60)\n\
             record = response.json()[\"aiRecord\"]\n\
             while record and record[\"status\"] == \"PROCESSING\":\n    \
             time.sleep(5)\n    \
             poll = requests.get(results + record[\"uuid\"], headers=headers, timeout=60)\n    \
             record = poll.json()[\"aiRecord\"]\n\
             print(record and record[\"status\"], record and record.get(\"temporaryUrl\"))\n",
        );
        return Snippets {
            curl,
            javascript,
            python,
        };
    }
    python.push_str(
        "\n\
         # Encoded here: requests would send a str body as Latin-1.\n\
         # The edit usually takes 15-60 seconds; the answer comes when it is done.\n\
         response = requests.post(url, headers=headers, data=body.encode(\"utf-8\"), timeout=180)\n\
         record = response.json()[\"aiRecord\"]\n\
         print(record[\"status\"], record.get(\"temporaryUrl\"))\n",
    );

    Snippets {
        curl,
        javascript,
        python,
    }
}

fn key_header() -> String {
    format!("API-KEY: {KEY_PLACEHOLDER}")
}

fn base(endpoint: &str) -> &str {
    endpoint.trim().trim_end_matches('/')
}

fn mime_for(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "webp" => Some("image/webp"),
        _ => None,
    }
}

/// One POSIX shell word: inside single quotes nothing is special, and a single quote is
/// written by closing the quotes, adding an escaped quote and reopening them.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A double-quoted string literal that means the same text in JavaScript and in Python 3
/// (and in JSON): only escapes the three languages share.
fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Line separators end a string literal in older JavaScript engines.
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(
            string_literal("a\"b\\c\nd\u{1}e\u{2028}é"),
            r#""a\"b\\c\nd\u0001e\u2028é""#
        );
        // Every literal is valid JSON with the same meaning.
        let s = "q\"\\\u{0}\u{7f}\u{85}\u{2029}🎉";
        assert_eq!(
            serde_json::from_str::<String>(&string_literal(s)).unwrap(),
            s
        );
    }

    #[test]
    fn endpoints_lose_their_trailing_slash() {
        assert_eq!(base("https://api.1min.ai/"), "https://api.1min.ai");
        assert_eq!(base(" https://api.1min.ai "), "https://api.1min.ai");
        assert_eq!(base(""), "");
    }
}
