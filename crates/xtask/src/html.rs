//! index.html: what the build reads from it and writes into it, and the check that it
//! runs under the page's Content-Security-Policy (no 'unsafe-inline' for scripts or styles).

use std::cell::RefCell;

use lol_html::html_content::ContentType;
use lol_html::{RewriteStrSettings, element, rewrite_str, text};

#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("index.html cannot be rewritten: {0}")]
    Rewrite(#[from] lol_html::errors::RewritingError),
    #[error("index.html links no stylesheet")]
    NoStylesheet,
    #[error("index.html has {0} scripts named {1}, not one")]
    Start(usize, String),
    #[error("index.html has {0} elements with id \"flexedit\", not one, for the first screen")]
    Editor(usize),
    #[error("index.html's element with id \"flexedit\" is not empty: the build fills it")]
    EditorNotEmpty,
    #[error("index.html would break its Content-Security-Policy: {0}")]
    Inline(String),
}

/// The stylesheets in the order index.html links them, as the build wrote their names
/// (without a leading `./`).
pub fn stylesheets(html: &str) -> Result<Vec<String>, HtmlError> {
    let found = RefCell::new(Vec::new());
    rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![element!("link[rel=stylesheet][href]", |link| {
                if let Some(href) = link.get_attribute("href") {
                    found
                        .borrow_mut()
                        .push(href.trim_start_matches("./").to_owned());
                }
                Ok(())
            })],
            ..RewriteStrSettings::default()
        },
    )?;
    let found = found.into_inner();
    if found.is_empty() {
        return Err(HtmlError::NoStylesheet);
    }
    Ok(found)
}

/// index.html starting from `page` in place of the script `source` (the one script it
/// names). The main module's wasm is not preloaded: the page fetches it once its first
/// screen is painted (web/embed.js), so the largest paint waits for nothing else.
pub fn start_from(html: &str, source: &str, page: &str) -> Result<String, HtmlError> {
    let scripts = RefCell::new(0);
    let page_src = format!("./{page}");
    let rewritten = rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![element!("script[src]", |script| {
                let src = script.get_attribute("src").unwrap_or_default();
                if src.trim_start_matches("./") == source {
                    *scripts.borrow_mut() += 1;
                    script.set_attribute("src", &page_src)?;
                }
                Ok(())
            })],
            ..RewriteStrSettings::default()
        },
    )?;
    match scripts.into_inner() {
        1 => Ok(rewritten),
        count => Err(HtmlError::Start(count, source.to_owned())),
    }
}

/// index.html with `screen`, the editor's first screen, inside its element
/// `#flexedit`, which must be there once and be empty. The screen's buttons are disabled:
/// they wait for the editor, while its fields take input the editor carries over.
pub fn fill_editor(html: &str, screen: &str) -> Result<String, HtmlError> {
    let screen = rewrite_str(
        screen,
        RewriteStrSettings {
            element_content_handlers: vec![element!("button", |button| {
                button.set_attribute("disabled", "")?;
                Ok(())
            })],
            ..RewriteStrSettings::default()
        },
    )?;
    let found = RefCell::new(0);
    let inside = RefCell::new(false);
    let rewritten = rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!("#flexedit *", |_| {
                    *inside.borrow_mut() = true;
                    Ok(())
                }),
                text!("#flexedit", |chunk| {
                    if !chunk.as_str().trim().is_empty() {
                        *inside.borrow_mut() = true;
                    }
                    Ok(())
                }),
                element!("#flexedit", |editor| {
                    *found.borrow_mut() += 1;
                    editor.set_inner_content(&screen, ContentType::Html);
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::default()
        },
    )?;
    match (found.into_inner(), inside.into_inner()) {
        (1, false) => Ok(rewritten),
        (1, true) => Err(HtmlError::EditorNotEmpty),
        (count, _) => Err(HtmlError::Editor(count)),
    }
}

/// The scripts index.html names, in order.
pub fn scripts(html: &str) -> Result<Vec<String>, HtmlError> {
    let found = RefCell::new(Vec::new());
    rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![element!("script[src]", |script| {
                if let Some(src) = script.get_attribute("src") {
                    found.borrow_mut().push(src);
                }
                Ok(())
            })],
            ..RewriteStrSettings::default()
        },
    )?;
    Ok(found.into_inner())
}

/// Fails on what a Content-Security-Policy without 'unsafe-inline' blocks: a script or
/// stylesheet written into the page, an event handler attribute, a style attribute, or a
/// `javascript:` address.
pub fn check_csp(html: &str) -> Result<(), HtmlError> {
    let problems = RefCell::new(Vec::new());
    rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!("script:not([src])", |_| {
                    problems
                        .borrow_mut()
                        .push("a script without src".to_owned());
                    Ok(())
                }),
                text!("script, style", |chunk| {
                    if !chunk.as_str().trim().is_empty() {
                        problems
                            .borrow_mut()
                            .push("an inline script or style".to_owned());
                    }
                    Ok(())
                }),
                element!("*", |element| {
                    for attribute in element.attributes() {
                        let name = attribute.name();
                        let value = attribute.value();
                        if name.starts_with("on") || name == "style" {
                            problems
                                .borrow_mut()
                                .push(format!("<{} {name}>", element.tag_name()));
                        } else if value
                            .trim_start()
                            .to_ascii_lowercase()
                            .starts_with("javascript:")
                        {
                            problems
                                .borrow_mut()
                                .push(format!("<{} {name}=\"{value}\">", element.tag_name()));
                        }
                    }
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::default()
        },
    )?;
    let problems = problems.into_inner();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(HtmlError::Inline(problems.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As trunk writes a release build's index.html: minified, attribute values unquoted,
    /// no `<head>` tag.
    const MINIFIED: &str = "<!doctype html><html lang=en><meta charset=utf-8><title>flexedit</title><link href=./flexedit-0123456789abcdef.css integrity=sha384-x rel=stylesheet></head><body><div class=flexedit id=flexedit></div><script async src=boot.js type=module></script><noscript>flexedit needs JavaScript.</noscript></body></html>";

    #[test]
    fn the_stylesheets_are_read_quoted_or_not() {
        assert_eq!(
            stylesheets(MINIFIED).unwrap(),
            ["flexedit-0123456789abcdef.css"]
        );
        assert_eq!(
            stylesheets(r#"<head><link rel="stylesheet" href="a.css"><link rel="stylesheet" href="./b.css"></head>"#).unwrap(),
            ["a.css", "b.css"]
        );
        assert!(matches!(
            stylesheets("<head></head>"),
            Err(HtmlError::NoStylesheet)
        ));
    }

    #[test]
    fn the_page_starts_from_its_module_and_preloads_nothing() {
        let html = start_from(MINIFIED, "boot.js", "flexedit-page-1.js").unwrap();
        assert_eq!(scripts(&html).unwrap(), ["./flexedit-page-1.js"]);
        assert!(!html.contains(".wasm"));
        check_csp(&html).unwrap();
    }

    #[test]
    fn a_page_without_that_script_is_refused() {
        assert!(matches!(
            start_from(MINIFIED, "main.js", "p.js"),
            Err(HtmlError::Start(0, _))
        ));
        let two = MINIFIED.replace("</body>", "<script src=boot.js></script></body>");
        assert!(matches!(
            start_from(&two, "boot.js", "p.js"),
            Err(HtmlError::Start(2, _))
        ));
    }

    #[test]
    fn the_first_screen_goes_inside_the_editor_element_once_and_empty() {
        let html = fill_editor(MINIFIED, "<p class=x>hi</p>").unwrap();
        assert!(html.contains("<div class=flexedit id=flexedit><p class=x>hi</p></div><script"));
        let quoted = r#"<body><div id="flexedit" aria-busy="true"></div></body>"#;
        assert_eq!(
            fill_editor(quoted, "<p>hi</p>").unwrap(),
            r#"<body><div id="flexedit" aria-busy="true"><p>hi</p></div></body>"#
        );
        // Buttons wait for the editor; fields do not.
        assert_eq!(
            fill_editor(
                quoted,
                r#"<button type="button">Go</button><button disabled>No</button><textarea></textarea>"#
            )
            .unwrap(),
            r#"<body><div id="flexedit" aria-busy="true"><button type="button" disabled="">Go</button><button disabled="">No</button><textarea></textarea></div></body>"#
        );
        assert!(matches!(
            fill_editor("<body><div id=other></div></body>", "x"),
            Err(HtmlError::Editor(0))
        ));
        assert!(matches!(
            fill_editor("<body><div id=flexedit><p>old</p></div></body>", "x"),
            Err(HtmlError::EditorNotEmpty)
        ));
        assert!(matches!(
            fill_editor("<body><div id=flexedit>old</div></body>", "x"),
            Err(HtmlError::EditorNotEmpty)
        ));
    }

    #[test]
    fn inline_scripts_styles_and_handlers_break_the_policy() {
        check_csp(MINIFIED).unwrap();
        for inline in [
            "<script>start()</script>",
            "<script type=module>import './a.js'</script>",
            "<style>body{color:red}</style>",
            "<div onclick=go()></div>",
            "<div style=color:red></div>",
            "<a href=javascript:go()>go</a>",
        ] {
            let html = MINIFIED.replace("</body>", &format!("{inline}</body>"));
            assert!(check_csp(&html).is_err(), "{inline}");
        }
    }
}
