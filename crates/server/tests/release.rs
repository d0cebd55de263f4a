//! The release as it ships: the page the binary carries is the release build byte for
//! byte, and the static binary alone in an empty root serves it and answers an edit.
//!
//! The second test needs the static build, which only exists after the page is built, so
//! it is ignored by a plain `cargo test`; scripts/test builds the static binary and runs it
//! with `FLEXEDIT_STATIC_BINARY` naming it, where a missing binary is a failure.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{TempDir, client, edit_body, post_edit, upload_png};
use flexedit_server::PageFiles;
use serde_json::{Value, json};

/// The folder the build embedded: the one `FLEXEDIT_EMBED_DIST` named at build time, or
/// the workspace's `dist/`.
fn release_dist() -> PathBuf {
    match option_env!("FLEXEDIT_EMBED_DIST").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist"),
    }
}

fn assert_same_page(found: &PageFiles, release: &PageFiles, what: &str) {
    assert_eq!(
        found.names().collect::<Vec<_>>(),
        release.names().collect::<Vec<_>>(),
        "{what}: the files differ from the release build's"
    );
    for name in release.names() {
        let (Some(found), Some(release)) = (found.get(name), release.get(name)) else {
            panic!("{what}: {name} missing");
        };
        assert!(found.bytes == release.bytes, "{what}: {name} differs");
    }
}

#[test]
fn the_page_carried_is_the_release_build_byte_for_byte() {
    let dist = release_dist();
    let carried = PageFiles::embedded();
    if option_env!("FLEXEDIT_NO_EMBED").is_some_and(|value| !value.is_empty() && value != "0") {
        assert!(
            carried.is_empty(),
            "FLEXEDIT_NO_EMBED, yet a page is carried"
        );
        return;
    }
    if !dist.join("index.html").is_file() {
        // Lints and unit tests run before the page is built: such a build must carry no
        // page at all rather than an older one.
        assert!(
            carried.is_empty(),
            "built without {}, yet carries {} files",
            dist.display(),
            carried.len()
        );
        return;
    }
    let release = PageFiles::read_dir(&dist).unwrap();
    assert!(release.get("index.html").is_some());
    assert_same_page(&carried, &release, "the page carried");
}

/// Whether an ELF file asks for a dynamic loader (has a PT_INTERP program header).
fn needs_a_loader(binary: &[u8]) -> bool {
    let read = |at: usize, len: usize| -> u64 {
        let bytes = &binary[at..at + len];
        bytes
            .iter()
            .rev()
            .fold(0, |value, byte| (value << 8) | u64::from(*byte))
    };
    assert_eq!(&binary[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(binary[4], 2, "not a 64-bit ELF file");
    let table = read(0x20, 8) as usize;
    let entry_size = read(0x36, 2) as usize;
    let entries = read(0x38, 2) as usize;
    (0..entries).any(|index| read(table + index * entry_size, 4) == 3)
}

/// The first string anywhere in `value` that is an address under the simulator's results.
fn result_url(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if text.starts_with("http") && text.contains("/__results/") => {
            Some(text.clone())
        }
        Value::Array(items) => items.iter().find_map(result_url),
        Value::Object(fields) => fields.values().find_map(result_url),
        _ => None,
    }
}

/// Runs the binary at `/flexedit-server` inside `root` as its root folder: with chroot as
/// root, with a user namespace otherwise.
fn in_root(root: &Path) -> Command {
    let uid = Command::new("id").arg("-u").output().unwrap();
    let mut command = if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        let mut command = Command::new("chroot");
        command.arg(root);
        command
    } else {
        let mut command = Command::new("unshare");
        command
            .args(["--user", "--map-root-user", "--root"])
            .arg(root);
        command
    };
    command.arg("/flexedit-server");
    // Only the options a test gives: nothing of this machine's settings or keys.
    for (name, _) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if name_text.starts_with("FLEXEDIT_") || name_text == "ONEMIN_API_KEY" {
            command.env_remove(&name);
        }
    }
    command
}

#[tokio::test]
#[ignore = "needs the static release build: scripts/test builds it and runs this"]
async fn the_static_binary_alone_in_an_empty_root_serves_the_page_and_an_edit() {
    let Some(binary) = std::env::var_os("FLEXEDIT_STATIC_BINARY") else {
        panic!("FLEXEDIT_STATIC_BINARY must name the static build of flexedit-server");
    };
    let release = PageFiles::read_dir(&release_dist()).unwrap();
    let bytes = std::fs::read(&binary).unwrap();
    assert!(!needs_a_loader(&bytes), "the binary is not static");

    let root = TempDir::new("empty-root");
    std::fs::write(root.0.join("flexedit-server"), &bytes).unwrap();
    let mut permissions = std::fs::metadata(root.0.join("flexedit-server"))
        .unwrap()
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(root.0.join("flexedit-server"), permissions).unwrap();
    assert_eq!(std::fs::read_dir(&root.0).unwrap().count(), 1);

    let mut server = in_root(&root.0)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--role",
            "simulator",
            "--step-latency-ms",
            "0",
        ])
        .env("RUST_LOG", "flexedit_server=warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_owned();

    // Every file of the release build, as it is.
    for name in release.names() {
        let response = client().get(format!("{base}/{name}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{name}");
        let served = response.bytes().await.unwrap();
        assert!(served == release.get(name).unwrap().bytes, "{name} differs");
    }
    let page = client().get(format!("{base}/")).send().await.unwrap();
    assert!(page.bytes().await.unwrap() == release.get("index.html").unwrap().bytes);
    let compressed = release
        .names()
        .find(|name| name.ends_with(".js.br"))
        .expect("the release build has brotli copies");
    let original = compressed.trim_end_matches(".br");
    let response = client()
        .get(format!("{base}/{original}"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "br");
    assert!(response.bytes().await.unwrap() == release.get(compressed).unwrap().bytes);

    // An edit, end to end: upload, edit, the result image.
    let asset = upload_png(&base, 64, 48).await;
    let (status, text) = post_edit(
        &base,
        edit_body(
            &asset,
            "Add the text \"SALE\"",
            json!({"aspect_ratio": "1:1"}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let url = result_url(&answer).unwrap_or_else(|| panic!("no result address in {text}"));
    let result = client().get(&url).send().await.unwrap();
    assert_eq!(result.status(), 200);
    let image = image::load_from_memory(&result.bytes().await.unwrap()).unwrap();
    assert_eq!(image.width(), image.height(), "the 1:1 result");

    // Health from inside the same root, as a container's check runs.
    let port = base.rsplit(':').next().unwrap();
    let check = in_root(&root.0)
        .args(["--healthcheck", "--port", port])
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");

    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(server.wait().unwrap().success());

    // The page it carries, written out, is the release build too.
    let export = in_root(&root.0)
        .args(["--export-page", "/exported"])
        .output()
        .unwrap();
    assert!(export.status.success(), "{export:?}");
    let exported = PageFiles::read_dir(&root.0.join("exported")).unwrap();
    assert_same_page(&exported, &release, "the page exported");
}
